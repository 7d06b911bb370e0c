//! Word lists for demo data, in English and Russian.

pub struct City {
    pub name: &'static str,
    pub region: &'static str,
    pub country: &'static str,
    /// `#` becomes a digit, `@` a capital letter.
    pub postal: &'static str,
    /// Country and area code; the subscriber number is appended.
    pub phone: &'static str,
    pub lat: f64,
    pub lon: f64,
}

const fn city(
    name: &'static str,
    region: &'static str,
    country: &'static str,
    postal: &'static str,
    phone: &'static str,
    lat: f64,
    lon: f64,
) -> City {
    City { name, region, country, postal, phone, lat, lon }
}

pub const EN_CITIES: &[City] = &[
    city("New York", "NY", "United States", "100##", "+1 212", 40.7128, -74.006),
    city("San Francisco", "CA", "United States", "941##", "+1 415", 37.7749, -122.4194),
    city("Seattle", "WA", "United States", "981##", "+1 206", 47.6062, -122.3321),
    city("Austin", "TX", "United States", "787##", "+1 512", 30.2672, -97.7431),
    city("Dallas", "TX", "United States", "752##", "+1 214", 32.7767, -96.797),
    city("Chicago", "IL", "United States", "606##", "+1 312", 41.8781, -87.6298),
    city("Boston", "MA", "United States", "021##", "+1 617", 42.3601, -71.0589),
    city("Denver", "CO", "United States", "802##", "+1 303", 39.7392, -104.9903),
    city("Atlanta", "GA", "United States", "303##", "+1 404", 33.749, -84.388),
    city("Miami", "FL", "United States", "331##", "+1 305", 25.7617, -80.1918),
    city("Portland", "OR", "United States", "972##", "+1 503", 45.5152, -122.6784),
    city("Phoenix", "AZ", "United States", "850##", "+1 602", 33.4484, -112.074),
    city("Minneapolis", "MN", "United States", "554##", "+1 612", 44.9778, -93.265),
    city("Nashville", "TN", "United States", "372##", "+1 615", 36.1627, -86.7816),
    city("Toronto", "ON", "Canada", "M5H #@#", "+1 416", 43.6532, -79.3832),
    city("Vancouver", "BC", "Canada", "V6B #@#", "+1 604", 49.2827, -123.1207),
    city("London", "England", "United Kingdom", "EC#A #@@", "+44 20", 51.5074, -0.1278),
    city("Manchester", "England", "United Kingdom", "M# #@@", "+44 161", 53.4808, -2.2426),
    city("Edinburgh", "Scotland", "United Kingdom", "EH# #@@", "+44 131", 55.9533, -3.1883),
    city("Dublin", "Leinster", "Ireland", "D0# @###", "+353 1", 53.3498, -6.2603),
    city("Sydney", "NSW", "Australia", "20##", "+61 2", -33.8688, 151.2093),
    city("Melbourne", "VIC", "Australia", "30##", "+61 3", -37.8136, 144.9631),
];

pub const RU_CITIES: &[City] = &[
    city("Москва", "Москва", "Россия", "101###", "+7 495", 55.7558, 37.6173),
    city("Санкт-Петербург", "Санкт-Петербург", "Россия", "190###", "+7 812", 59.9343, 30.3351),
    city("Новосибирск", "Новосибирская область", "Россия", "630###", "+7 383", 55.0084, 82.9357),
    city("Екатеринбург", "Свердловская область", "Россия", "620###", "+7 343", 56.8389, 60.6057),
    city("Казань", "Республика Татарстан", "Россия", "420###", "+7 843", 55.7887, 49.1221),
    city("Нижний Новгород", "Нижегородская область", "Россия", "603###", "+7 831", 56.2965, 43.9361),
    city("Самара", "Самарская область", "Россия", "443###", "+7 846", 53.1959, 50.1002),
    city("Ростов-на-Дону", "Ростовская область", "Россия", "344###", "+7 863", 47.2357, 39.7015),
    city("Краснодар", "Краснодарский край", "Россия", "350###", "+7 861", 45.0355, 38.9753),
    city("Пермь", "Пермский край", "Россия", "614###", "+7 342", 58.0105, 56.2502),
    city("Воронеж", "Воронежская область", "Россия", "394###", "+7 473", 51.672, 39.1843),
    city("Уфа", "Республика Башкортостан", "Россия", "450###", "+7 347", 54.7388, 55.9721),
    city("Красноярск", "Красноярский край", "Россия", "660###", "+7 391", 56.0153, 92.8932),
    city("Челябинск", "Челябинская область", "Россия", "454###", "+7 351", 55.1644, 61.4368),
    city("Тюмень", "Тюменская область", "Россия", "625###", "+7 345", 57.1522, 65.5272),
    city("Владивосток", "Приморский край", "Россия", "690###", "+7 423", 43.1198, 131.8869),
    city("Калининград", "Калининградская область", "Россия", "236###", "+7 401", 54.7104, 20.4522),
    city("Алматы", "Алматы", "Казахстан", "050###", "+7 727", 43.2389, 76.8897),
    city("Минск", "Минск", "Беларусь", "220###", "+375 17", 53.9006, 27.559),
];

pub const EN_COMPANY_ADJ: &[&str] = &[
    "Blue", "North", "Silver", "Summit", "Pioneer", "Evergreen", "Golden", "Bright", "Red", "Granite", "Coastal",
    "Atlantic", "Pacific", "Prairie", "Liberty", "Union", "Eagle", "Crystal", "Iron", "Cedar", "Oak", "Maple",
    "Sterling", "Apex", "Vertex", "Quantum", "Nova", "Stellar", "Rapid", "Prime", "Alpine", "Highland", "River",
    "Lake", "Metro", "Global", "United", "Central", "West", "South", "East", "Royal", "Trinity", "Falcon", "Phoenix",
    "Orion", "Horizon", "Keystone", "Copper", "Harbor", "Clear", "Green", "Sun", "Moon", "Wild", "True", "Bold",
];

pub const EN_COMPANY_NOUN: &[&str] = &[
    "ridge", "bridge", "stone", "wave", "peak", "point", "field", "gate", "light", "line", "works", "path", "rock",
    "wind", "star", "crest", "brook", "forge", "mill", "port", "view", "vale", "grove", "spring", "hill", "bay",
    "creek", "shore", "wood", "leaf", "stream", "haven", "land", "well", "water", "fire", "hawk", "wing",
];

pub const EN_SECTORS: &[&str] = &[
    "Logistics", "Software", "Systems", "Manufacturing", "Consulting", "Foods", "Healthcare", "Energy", "Analytics",
    "Partners", "Capital", "Construction", "Labs", "Media", "Motors", "Pharmaceuticals", "Textiles", "Electronics",
    "Solutions", "Technologies", "Supply", "Retail", "Insurance", "Realty", "Engineering", "Design", "Robotics",
    "Marine", "Aviation", "Telecom", "Brewing", "Furniture", "Outfitters", "Industries", "Networks", "Security",
    "Trading", "Biotech", "Freight", "Dental", "Architects", "Farms", "Metals", "Plastics", "Printing",
];

pub const EN_SUFFIXES: &[&str] =
    &["Inc.", "LLC", "Ltd.", "Corp.", "Co.", "Group", "Holdings", "International", "", "", "", ""];

pub const RU_FORMS: &[&str] = &["ООО", "ООО", "ООО", "ООО", "АО", "АО", "ПАО", "ЗАО", "ТД"];

pub const RU_ROOTS: &[&str] = &[
    "Урал", "Сиб", "Волга", "Север", "Юг", "Дон", "Нева", "Байкал", "Алтай", "Кама", "Ока", "Енисей", "Амур",
    "Вектор", "Альфа", "Гранит", "Арсенал", "Прогресс", "Мега", "Техно", "Агро", "Пром", "Энерго", "Транс", "Лес",
    "Мед", "Хим", "Метал", "Ростех", "Бал", "Кубань", "Таврия", "Полюс", "Орион", "Спектр", "Квант", "Восток",
];

pub const RU_ENDINGS: &[&str] = &[
    "снаб", "строй", "торг", "пром", "сервис", "трейд", "инвест", "транс", "маш", "комплект", "лес", "агро", "тех",
    "энерго", "логистик", "софт", "мед", "хим", "сталь", "нефть", "газ", "систем", "проект", "групп",
];

/// Adjectives in masculine and feminine form.
pub const RU_ADJ: &[(&str, &str)] = &[
    ("Северный", "Северная"),
    ("Южный", "Южная"),
    ("Сибирский", "Сибирская"),
    ("Уральский", "Уральская"),
    ("Волжский", "Волжская"),
    ("Столичный", "Столичная"),
    ("Первый", "Первая"),
    ("Новый", "Новая"),
    ("Золотой", "Золотая"),
    ("Белый", "Белая"),
    ("Красный", "Красная"),
    ("Русский", "Русская"),
    ("Балтийский", "Балтийская"),
    ("Торговый", "Торговая"),
    ("Промышленный", "Промышленная"),
    ("Технический", "Техническая"),
    ("Дальневосточный", "Дальневосточная"),
    ("Центральный", "Центральная"),
    ("Народный", "Народная"),
    ("Объединённый", "Объединённая"),
    ("Северо-Западный", "Северо-Западная"),
    ("Инженерный", "Инженерная"),
];

pub const RU_NOUN_M: &[&str] = &[
    "альянс", "холдинг", "капитал", "стандарт", "ресурс", "проект", "двор", "берег", "мост", "путь", "ветер", "дом",
    "завод", "комбинат", "союз", "центр", "терминал", "партнёр",
];

pub const RU_NOUN_F: &[&str] = &[
    "энергия", "компания", "звезда", "линия", "мануфактура", "фабрика", "группа", "сеть", "волна", "гавань",
    "артель", "корпорация", "логистика", "верфь",
];

pub const EN_FIRST_MALE: &[&str] = &[
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Charles",
    "Christopher", "Daniel", "Matthew", "Anthony", "Mark", "Steven", "Paul", "Andrew", "Joshua", "Kevin", "Brian",
    "George", "Timothy", "Ryan", "Jacob", "Nathan", "Ethan", "Samuel", "Benjamin", "Lucas", "Oliver", "Henry",
    "Owen", "Liam", "Noah", "Adrian", "Victor", "Marcus",
];

pub const EN_FIRST_FEMALE: &[&str] = &[
    "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen", "Lisa",
    "Nancy", "Sandra", "Ashley", "Emily", "Michelle", "Amanda", "Melissa", "Rebecca", "Laura", "Emma", "Olivia",
    "Sophia", "Charlotte", "Amelia", "Hannah", "Grace", "Chloe", "Zoe", "Natalie", "Rachel", "Megan", "Claire",
    "Julia", "Diana", "Priya",
];

pub const EN_LAST: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin", "Lee", "Thompson",
    "White", "Harris", "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
    "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips", "Campbell", "Parker",
    "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook", "Rogers", "Morgan", "Cooper", "Peterson",
    "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward", "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett",
    "Gray", "Hughes", "Price", "Sanders", "Patel", "Nguyen", "Kim", "Chen", "O'Brien", "Fischer", "Novak", "Rossi",
    "Hayes", "Whitman", "Sullivan", "Foster", "Graham", "Reynolds", "Fletcher", "Harper",
];

/// Male first name with the patronymics it gives (male, female).
pub const RU_FIRST_MALE: &[(&str, &str, &str)] = &[
    ("Александр", "Александрович", "Александровна"),
    ("Алексей", "Алексеевич", "Алексеевна"),
    ("Андрей", "Андреевич", "Андреевна"),
    ("Дмитрий", "Дмитриевич", "Дмитриевна"),
    ("Сергей", "Сергеевич", "Сергеевна"),
    ("Иван", "Иванович", "Ивановна"),
    ("Михаил", "Михайлович", "Михайловна"),
    ("Николай", "Николаевич", "Николаевна"),
    ("Владимир", "Владимирович", "Владимировна"),
    ("Павел", "Павлович", "Павловна"),
    ("Евгений", "Евгеньевич", "Евгеньевна"),
    ("Игорь", "Игоревич", "Игоревна"),
    ("Олег", "Олегович", "Олеговна"),
    ("Максим", "Максимович", "Максимовна"),
    ("Артём", "Артёмович", "Артёмовна"),
    ("Виктор", "Викторович", "Викторовна"),
    ("Юрий", "Юрьевич", "Юрьевна"),
    ("Константин", "Константинович", "Константиновна"),
    ("Георгий", "Георгиевич", "Георгиевна"),
    ("Роман", "Романович", "Романовна"),
    ("Денис", "Денисович", "Денисовна"),
    ("Антон", "Антонович", "Антоновна"),
    ("Кирилл", "Кириллович", "Кирилловна"),
    ("Григорий", "Григорьевич", "Григорьевна"),
    ("Пётр", "Петрович", "Петровна"),
    ("Илья", "Ильич", "Ильинична"),
    ("Степан", "Степанович", "Степановна"),
    ("Фёдор", "Фёдорович", "Фёдоровна"),
    ("Тимур", "Тимурович", "Тимуровна"),
    ("Вадим", "Вадимович", "Вадимовна"),
];

pub const RU_FIRST_FEMALE: &[&str] = &[
    "Анна", "Мария", "Елена", "Ольга", "Наталья", "Татьяна", "Ирина", "Светлана", "Екатерина", "Юлия", "Анастасия",
    "Марина", "Дарья", "Ксения", "Полина", "Виктория", "Алина", "Вера", "Людмила", "Галина", "Надежда", "Евгения",
    "Валентина", "Софья", "Оксана", "Лариса",
];

/// Surnames in the masculine form; see `feminine_surname`.
pub const RU_LAST: &[&str] = &[
    "Иванов", "Смирнов", "Кузнецов", "Попов", "Васильев", "Петров", "Соколов", "Михайлов", "Новиков", "Фёдоров",
    "Морозов", "Волков", "Алексеев", "Лебедев", "Семёнов", "Егоров", "Павлов", "Козлов", "Степанов", "Николаев",
    "Орлов", "Андреев", "Макаров", "Никитин", "Захаров", "Зайцев", "Соловьёв", "Борисов", "Яковлев", "Григорьев",
    "Романов", "Воробьёв", "Сергеев", "Кузьмин", "Фролов", "Александров", "Дмитриев", "Королёв", "Гусев", "Киселёв",
    "Ильин", "Максимов", "Поляков", "Сорокин", "Виноградов", "Ковалёв", "Белов", "Медведев", "Антонов", "Тарасов",
    "Жуков", "Баранов", "Филиппов", "Комаров", "Давыдов", "Беляев", "Герасимов", "Богданов", "Осипов", "Сидоров",
    "Матвеев", "Титов", "Марков", "Миронов", "Крылов", "Куликов", "Карпов", "Власов", "Мельников", "Денисов",
    "Гаврилов", "Тихонов", "Казаков", "Афанасьев", "Данилов", "Савельев", "Тимофеев", "Фомин", "Чернов", "Абрамов",
    "Мартынов", "Ефимов", "Щербаков", "Назаров", "Калинин", "Исаев", "Быков", "Маслов", "Родионов", "Коновалов",
    "Лазарев", "Воронин", "Климов", "Филатов", "Пономарёв", "Голубев", "Кудрявцев", "Прохоров", "Наумов", "Потапов",
    "Журавлёв", "Соболев", "Ермаков", "Колесников", "Гончаров", "Емельянов", "Громов", "Кириллов", "Малышев",
    "Румянцев", "Горбунов", "Скворцов", "Белоусов", "Нестеров", "Цветков", "Краснов", "Жданов", "Рябов", "Ковалевский",
    "Вишневский", "Островский", "Шевченко", "Бондаренко", "Ким", "Толстой", "Нуриев", "Ахметов", "Галиев",
];

pub const EN_STREETS: &[&str] = &[
    "Main", "Oak", "Pine", "Maple", "Cedar", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset", "River",
    "Market", "Church", "Mill", "Spring", "Ridge", "Highland", "Meadow", "Forest", "Harbor", "Union", "Broad",
    "Franklin", "Lincoln", "Jefferson", "King", "Queen", "Victoria", "Station",
];
pub const EN_STREET_TYPES: &[&str] = &["St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Ct", "Pl"];

pub const RU_STREETS: &[&str] = &[
    "ул. Ленина", "ул. Гагарина", "ул. Пушкина", "ул. Советская", "пр-т Мира", "ул. Садовая", "ул. Лесная",
    "пр-т Победы", "ул. Строителей", "наб. Реки Фонтанки", "ул. Центральная", "ул. Молодёжная", "ул. Школьная",
    "ул. Заводская", "ул. Кирова", "ул. Чехова", "ул. Горького", "ул. Тверская", "ул. Профсоюзная",
    "ул. Октябрьская", "Ленинградское ш.", "пер. Гончарный", "ул. Карла Маркса", "Невский пр-т", "ул. Баумана",
];

pub const EN_JOB_TITLES: &[&str] = &[
    "CEO", "CFO", "CTO", "COO", "Purchasing Manager", "Procurement Specialist", "IT Director", "Head of Operations",
    "Sales Director", "Marketing Manager", "Office Manager", "Project Manager", "Controller", "Logistics Coordinator",
    "Product Manager", "HR Director", "Senior Engineer", "Business Analyst", "Account Executive", "Founder",
    "VP of Sales", "Facilities Manager",
];
pub const EN_DEPARTMENTS: &[&str] = &[
    "Sales", "Marketing", "Finance", "IT", "Operations", "Procurement", "Human Resources", "Legal", "Engineering",
    "Executive", "Logistics", "Customer Service",
];

pub const RU_JOB_TITLES: &[&str] = &[
    "Генеральный директор", "Финансовый директор", "Главный бухгалтер", "Коммерческий директор", "Директор по ИТ",
    "Руководитель отдела закупок", "Менеджер по закупкам", "Менеджер по продажам", "Руководитель проектов",
    "Офис-менеджер", "Ведущий инженер", "Юрист", "Начальник отдела логистики", "Директор по маркетингу",
    "Специалист по тендерам", "Заместитель директора", "Системный администратор", "Аналитик", "Технический директор",
    "Начальник производства",
];
pub const RU_DEPARTMENTS: &[&str] = &[
    "Отдел продаж", "Маркетинг", "Бухгалтерия", "ИТ-отдел", "Отдел закупок", "Производство", "Юридический отдел",
    "Отдел кадров", "Логистика", "Руководство", "Служба поддержки",
];

pub const EN_PRODUCTS: &[&str] = &[
    "CRM licenses", "Server upgrade", "Annual support contract", "Office furniture", "Cloud migration",
    "Fleet telematics", "Consulting hours", "Security audit", "Training program", "Warehouse scanners", "Laptops",
    "Network equipment", "Marketing campaign", "ERP integration", "Printing services", "Spare parts",
    "Raw materials supply", "Packaging", "Maintenance contract", "Data analytics platform", "Solar panels",
    "Forklifts", "Video conferencing rooms",
];
pub const RU_PRODUCTS: &[&str] = &[
    "Лицензии CRM", "Поставка серверного оборудования", "Годовой договор поддержки", "Офисная мебель",
    "Переход в облако", "Аудит безопасности", "Обучение персонала", "Складские сканеры", "Ноутбуки",
    "Сетевое оборудование", "Интеграция с 1С", "Поставка комплектующих", "Поставка сырья", "Упаковка",
    "Сервисное обслуживание", "Внедрение BI-системы", "Рекламная кампания", "Спецодежда", "Логистические услуги",
    "Погрузчики", "Видеонаблюдение",
];

pub const EN_TASKS: &[&str] = &[
    "Send proposal", "Prepare contract", "Follow up on quote", "Update pricing", "Schedule demo",
    "Check credit limit", "Send product catalog", "Prepare presentation", "Collect requirements", "Review RFP",
    "Confirm delivery date", "Send invoice copy",
];
pub const RU_TASKS: &[&str] = &[
    "Отправить КП", "Подготовить договор", "Уточнить детали заказа", "Согласовать цены", "Назначить демонстрацию",
    "Проверить кредитный лимит", "Отправить каталог", "Подготовить презентацию", "Собрать требования",
    "Изучить тендерную документацию", "Подтвердить дату поставки", "Выставить счёт",
];
pub const EN_CALLS: &[&str] = &[
    "Intro call", "Follow-up call", "Discuss pricing", "Qualification call", "Check delivery status",
    "Renewal discussion", "Call back about invoice",
];
pub const RU_CALLS: &[&str] = &[
    "Первичный звонок", "Повторный звонок", "Обсуждение цены", "Квалификационный звонок",
    "Уточнение сроков поставки", "Обсуждение продления", "Перезвонить по счёту",
];
pub const EN_MEETINGS: &[&str] = &[
    "Product demo", "On-site visit", "Quarterly business review", "Contract negotiation", "Kick-off meeting",
    "Lunch meeting", "Technical workshop",
];
pub const RU_MEETINGS: &[&str] = &[
    "Демонстрация продукта", "Встреча в офисе клиента", "Квартальная встреча", "Переговоры по договору",
    "Стартовая встреча", "Деловой обед", "Технический семинар",
];
pub const EN_EMAILS: &[&str] = &[
    "Proposal attached", "Meeting follow-up", "Pricing update", "Re: your inquiry", "Invoice", "Contract draft",
    "Thank you for your time", "Next steps",
];
pub const RU_EMAILS: &[&str] = &[
    "Коммерческое предложение", "Итоги встречи", "Обновлённый прайс", "Re: ваш запрос", "Счёт на оплату",
    "Проект договора", "Спасибо за встречу", "Дальнейшие шаги",
];
pub const EN_NOTE_SUBJECTS: &[&str] = &[
    "Call summary", "Customer feedback", "Decision makers", "Budget", "Competitors", "Next steps", "Delivery terms",
    "Pricing notes",
];
pub const RU_NOTE_SUBJECTS: &[&str] = &[
    "Итоги звонка", "Отзыв клиента", "Лица, принимающие решения", "Бюджет", "Конкуренты", "Следующие шаги",
    "Условия поставки", "Цены",
];
pub const EN_SENTENCES: &[&str] = &[
    "The customer asked for a revised quote with volume discounts.",
    "Budget is approved for the next quarter.",
    "They are also evaluating two competitors.",
    "The CFO has to sign off on anything above the current contract.",
    "Delivery must happen before the end of the month.",
    "They prefer to be contacted by email in the morning.",
    "Integration with their accounting system is a must.",
    "The previous vendor had quality issues.",
    "A pilot with one department was suggested.",
    "Payment terms: net 30.",
    "Follow up after their board meeting.",
    "Very satisfied with the last delivery.",
];
pub const RU_SENTENCES: &[&str] = &[
    "Клиент попросил пересчитать КП с учётом скидки за объём.",
    "Бюджет утверждён на следующий квартал.",
    "Параллельно рассматривают ещё двух поставщиков.",
    "Решение выше текущего договора согласует финансовый директор.",
    "Поставка нужна до конца месяца.",
    "Предпочитают связь по электронной почте в первой половине дня.",
    "Обязательна интеграция с 1С.",
    "У прежнего поставщика были проблемы с качеством.",
    "Предложили пилот в одном подразделении.",
    "Оплата: отсрочка 30 дней.",
    "Вернуться к вопросу после совета директоров.",
    "Последней поставкой остались довольны.",
];

/// Cyrillic → Latin for email addresses and domains.
pub fn transliterate(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let lower = c.to_lowercase().next().unwrap_or(c);
        let t = match lower {
            'а' => "a",
            'б' => "b",
            'в' => "v",
            'г' => "g",
            'д' => "d",
            'е' | 'ё' | 'э' => "e",
            'ж' => "zh",
            'з' => "z",
            'и' | 'й' => "i",
            'к' => "k",
            'л' => "l",
            'м' => "m",
            'н' => "n",
            'о' => "o",
            'п' => "p",
            'р' => "r",
            'с' => "s",
            'т' => "t",
            'у' => "u",
            'ф' => "f",
            'х' => "kh",
            'ц' => "ts",
            'ч' => "ch",
            'ш' => "sh",
            'щ' => "shch",
            'ы' => "y",
            'ъ' | 'ь' => "",
            'ю' => "yu",
            'я' => "ya",
            _ => {
                out.push(lower);
                continue;
            }
        };
        out.push_str(t);
    }
    out
}

/// "Иванов" → "Иванова", "Островский" → "Островская"; others unchanged.
pub fn feminine_surname(s: &str) -> String {
    if let Some(stem) = s.strip_suffix("ий") {
        format!("{stem}ая")
    } else if let Some(stem) = s.strip_suffix("ой") {
        format!("{stem}ая")
    } else if ["ов", "ев", "ёв", "ин", "ын"].iter().any(|e| s.ends_with(e)) {
        format!("{s}а")
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn russian_helpers() {
        assert_eq!(transliterate("Щербаков"), "shcherbakov");
        assert_eq!(transliterate("Уралснаб-1"), "uralsnab-1");
        assert_eq!(feminine_surname("Иванов"), "Иванова");
        assert_eq!(feminine_surname("Соловьёв"), "Соловьёва");
        assert_eq!(feminine_surname("Ковалевский"), "Ковалевская");
        assert_eq!(feminine_surname("Толстой"), "Толстая");
        assert_eq!(feminine_surname("Шевченко"), "Шевченко");
    }
}
