//! CommerceML element and attribute names. The format is spelled in
//! Russian; every name the crate reads or writes lives here so that the
//! rest of the code reads in English.

// Envelope.
pub(crate) const ROOT: &str = "КоммерческаяИнформация";
pub(crate) const SCHEMA_VERSION: &str = "ВерсияСхемы";
pub(crate) const GENERATED_AT: &str = "ДатаФормирования";
pub(crate) const ONLY_CHANGES: &str = "СодержитТолькоИзменения";
pub(crate) const CONTAINER: &str = "Контейнер";

// Common fields.
pub(crate) const ID: &str = "Ид";
pub(crate) const NAME: &str = "Наименование";
pub(crate) const DESCRIPTION: &str = "Описание";
pub(crate) const DELETION_MARK: &str = "ПометкаУдаления";
pub(crate) const STATUS: &str = "Статус";
pub(crate) const STATUS_DELETED: &str = "Удален";
pub(crate) const VALUE: &str = "Значение";
pub(crate) const TYPE: &str = "Тип";
pub(crate) const CURRENCY: &str = "Валюта";
pub(crate) const AMOUNT: &str = "Сумма";
pub(crate) const QUANTITY: &str = "Количество";
pub(crate) const FACTOR: &str = "Коэффициент";
pub(crate) const PRESENTATION: &str = "Представление";
pub(crate) const ADDRESS: &str = "Адрес";
pub(crate) const COMMENT: &str = "Комментарий";

// Classifier.
pub(crate) const CLASSIFIER: &str = "Классификатор";
pub(crate) const CLASSIFIER_ID: &str = "ИдКлассификатора";
pub(crate) const GROUPS: &str = "Группы";
pub(crate) const GROUP: &str = "Группа";
pub(crate) const PROPERTIES: &str = "Свойства";
pub(crate) const PROPERTY: &str = "Свойство";
pub(crate) const PRODUCT_PROPERTY: &str = "СвойствоНоменклатуры";
pub(crate) const VALUE_TYPE: &str = "ТипЗначений";
pub(crate) const VALUE_CHOICES: &str = "ВариантыЗначений";
pub(crate) const DIRECTORY: &str = "Справочник";
pub(crate) const VALUE_ID: &str = "ИдЗначения";
pub(crate) const UNITS: &str = "ЕдиницыИзмерения";
pub(crate) const UNIT_OF_MEASURE: &str = "ЕдиницаИзмерения";
pub(crate) const CODE: &str = "Код";
pub(crate) const SHORT_NAME: &str = "НаименованиеКраткое";
pub(crate) const UNIT_FULL_NAME: &str = "НаименованиеПолное";
pub(crate) const INTERNATIONAL_ABBREVIATION: &str = "МеждународноеСокращение";
pub(crate) const PRICE_TYPES: &str = "ТипыЦен";
pub(crate) const PRICE_TYPE: &str = "ТипЦены";
pub(crate) const TAX: &str = "Налог";
pub(crate) const TAXES: &str = "Налоги";
pub(crate) const INCLUDED_IN_AMOUNT: &str = "УчтеноВСумме";
pub(crate) const EXCISE: &str = "Акциз";
pub(crate) const WAREHOUSES: &str = "Склады";
pub(crate) const WAREHOUSE: &str = "Склад";

// Catalog.
pub(crate) const CATALOG: &str = "Каталог";
pub(crate) const CATALOG_ID: &str = "ИдКаталога";
pub(crate) const PRODUCTS: &str = "Товары";
pub(crate) const PRODUCT: &str = "Товар";
pub(crate) const ARTICLE: &str = "Артикул";
pub(crate) const BARCODE: &str = "Штрихкод";
// Some exporters capitalise the second part.
pub(crate) const BARCODE_ALT: &str = "ШтрихКод";
pub(crate) const BASE_UNIT: &str = "БазоваяЕдиница";
pub(crate) const IMAGE: &str = "Картинка";
pub(crate) const PROPERTY_VALUES: &str = "ЗначенияСвойств";
pub(crate) const PROPERTY_VALUE: &str = "ЗначенияСвойства";
pub(crate) const TAX_RATES: &str = "СтавкиНалогов";
pub(crate) const TAX_RATE: &str = "СтавкаНалога";
pub(crate) const RATE: &str = "Ставка";
pub(crate) const REQUISITES: &str = "ЗначенияРеквизитов";
pub(crate) const REQUISITE: &str = "ЗначениеРеквизита";
pub(crate) const CHARACTERISTICS: &str = "ХарактеристикиТовара";
pub(crate) const CHARACTERISTIC: &str = "ХарактеристикаТовара";
pub(crate) const MANUFACTURER: &str = "Изготовитель";
pub(crate) const COUNTRY: &str = "Страна";
pub(crate) const WEIGHT: &str = "Вес";

// Offers.
pub(crate) const OFFER_PACKAGE: &str = "ПакетПредложений";
pub(crate) const OFFERS: &str = "Предложения";
pub(crate) const OFFER: &str = "Предложение";
pub(crate) const PRICES: &str = "Цены";
pub(crate) const PRICE: &str = "Цена";
pub(crate) const PRICE_TYPE_ID: &str = "ИдТипаЦены";
pub(crate) const UNIT_PRICE: &str = "ЦенаЗаЕдиницу";
pub(crate) const UNIT: &str = "Единица";
pub(crate) const WAREHOUSE_ID_ATTR: &str = "ИдСклада";
pub(crate) const QUANTITY_IN_WAREHOUSE_ATTR: &str = "КоличествоНаСкладе";
pub(crate) const RESTS: &str = "Остатки";
pub(crate) const REST: &str = "Остаток";

// Documents.
pub(crate) const DOCUMENT: &str = "Документ";
pub(crate) const NUMBER: &str = "Номер";
pub(crate) const DATE: &str = "Дата";
pub(crate) const TIME: &str = "Время";
pub(crate) const NUMBER_1C: &str = "Номер1С";
pub(crate) const DATE_1C: &str = "Дата1С";
pub(crate) const OPERATION: &str = "ХозОперация";
pub(crate) const ROLE: &str = "Роль";
pub(crate) const EXCHANGE_RATE: &str = "Курс";
pub(crate) const COUNTERPARTIES: &str = "Контрагенты";
pub(crate) const COMPANY_DETAILS: &str = "РеквизитыЮрЛица";
pub(crate) const PERSON_DETAILS: &str = "РеквизитыФизЛица";
pub(crate) const COUNTERPARTY: &str = "Контрагент";
pub(crate) const FULL_NAME: &str = "ПолноеНаименование";
pub(crate) const OFFICIAL_NAME: &str = "ОфициальноеНаименование";
pub(crate) const LAST_NAME: &str = "Фамилия";
pub(crate) const FIRST_NAME: &str = "Имя";
pub(crate) const MIDDLE_NAME: &str = "Отчество";
pub(crate) const INN: &str = "ИНН";
pub(crate) const KPP: &str = "КПП";
pub(crate) const REGISTRATION_ADDRESS: &str = "АдресРегистрации";
pub(crate) const LEGAL_ADDRESS: &str = "ЮридическийАдрес";
pub(crate) const CONTACTS: &str = "Контакты";
pub(crate) const CONTACT: &str = "Контакт";
pub(crate) const REPRESENTATIVES: &str = "Представители";
pub(crate) const REPRESENTATIVE: &str = "Представитель";
pub(crate) const RELATION: &str = "Отношение";
pub(crate) const DISCOUNTS: &str = "Скидки";
pub(crate) const DISCOUNT: &str = "Скидка";
pub(crate) const PERCENT: &str = "Процент";

// Values written by a site.
pub(crate) const OPERATION_ORDER: &str = "Заказ товара";
pub(crate) const ROLE_SELLER: &str = "Продавец";
pub(crate) const ROLE_BUYER: &str = "Покупатель";
pub(crate) const RELATION_CONTACT: &str = "Контактное лицо";

// Root attributes Bitrix adds from 2.05 on, telling 1C how dates and
// numbers are formatted.
pub(crate) const FORMAT_ATTRIBUTES: [(&str, &str); 5] = [
    ("ФорматДаты", "ДФ=yyyy-MM-dd; ДЛФ=DT"),
    ("ФорматВремени", "ДФ=ЧЧ:мм:сс; ДЛФ=T"),
    ("РазделительДатаВремя", "T"),
    ("ФорматСуммы", "ЧЦ=18; ЧДЦ=2; ЧРД=."),
    ("ФорматКоличества", "ЧЦ=18; ЧДЦ=2; ЧРД=."),
];
