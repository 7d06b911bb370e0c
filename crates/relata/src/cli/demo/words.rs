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
    "Blue",
    "North",
    "Silver",
    "Summit",
    "Pioneer",
    "Evergreen",
    "Golden",
    "Bright",
    "Red",
    "Granite",
    "Coastal",
    "Atlantic",
    "Pacific",
    "Prairie",
    "Liberty",
    "Union",
    "Eagle",
    "Crystal",
    "Iron",
    "Cedar",
    "Oak",
    "Maple",
    "Sterling",
    "Apex",
    "Vertex",
    "Quantum",
    "Nova",
    "Stellar",
    "Rapid",
    "Prime",
    "Alpine",
    "Highland",
    "River",
    "Lake",
    "Metro",
    "Global",
    "United",
    "Central",
    "West",
    "South",
    "East",
    "Royal",
    "Trinity",
    "Falcon",
    "Phoenix",
    "Orion",
    "Horizon",
    "Keystone",
    "Copper",
    "Harbor",
    "Clear",
    "Green",
    "Sun",
    "Moon",
    "Wild",
    "True",
    "Bold",
];

pub const EN_COMPANY_NOUN: &[&str] = &[
    "ridge", "bridge", "stone", "wave", "peak", "point", "field", "gate", "light", "line", "works", "path", "rock",
    "wind", "star", "crest", "brook", "forge", "mill", "port", "view", "vale", "grove", "spring", "hill", "bay",
    "creek", "shore", "wood", "leaf", "stream", "haven", "land", "well", "water", "fire", "hawk", "wing",
];

pub const EN_SECTORS: &[&str] = &[
    "Logistics",
    "Software",
    "Systems",
    "Manufacturing",
    "Consulting",
    "Foods",
    "Healthcare",
    "Energy",
    "Analytics",
    "Partners",
    "Capital",
    "Construction",
    "Labs",
    "Media",
    "Motors",
    "Pharmaceuticals",
    "Textiles",
    "Electronics",
    "Solutions",
    "Technologies",
    "Supply",
    "Retail",
    "Insurance",
    "Realty",
    "Engineering",
    "Design",
    "Robotics",
    "Marine",
    "Aviation",
    "Telecom",
    "Brewing",
    "Furniture",
    "Outfitters",
    "Industries",
    "Networks",
    "Security",
    "Trading",
    "Biotech",
    "Freight",
    "Dental",
    "Architects",
    "Farms",
    "Metals",
    "Plastics",
    "Printing",
];

pub const EN_SUFFIXES: &[&str] =
    &["Inc.", "LLC", "Ltd.", "Corp.", "Co.", "Group", "Holdings", "International", "", "", "", ""];

pub const RU_FORMS: &[&str] = &["ООО", "ООО", "ООО", "ООО", "АО", "АО", "ПАО", "ЗАО", "ТД"];

pub const RU_ROOTS: &[&str] = &[
    "Урал",
    "Сиб",
    "Волга",
    "Север",
    "Юг",
    "Дон",
    "Нева",
    "Байкал",
    "Алтай",
    "Кама",
    "Ока",
    "Енисей",
    "Амур",
    "Вектор",
    "Альфа",
    "Гранит",
    "Арсенал",
    "Прогресс",
    "Мега",
    "Техно",
    "Агро",
    "Пром",
    "Энерго",
    "Транс",
    "Лес",
    "Мед",
    "Хим",
    "Метал",
    "Ростех",
    "Бал",
    "Кубань",
    "Таврия",
    "Полюс",
    "Орион",
    "Спектр",
    "Квант",
    "Восток",
];

pub const RU_ENDINGS: &[&str] = &[
    "снаб",
    "строй",
    "торг",
    "пром",
    "сервис",
    "трейд",
    "инвест",
    "транс",
    "маш",
    "комплект",
    "лес",
    "агро",
    "тех",
    "энерго",
    "логистик",
    "софт",
    "мед",
    "хим",
    "сталь",
    "нефть",
    "газ",
    "систем",
    "проект",
    "групп",
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
    "альянс",
    "холдинг",
    "капитал",
    "стандарт",
    "ресурс",
    "проект",
    "двор",
    "берег",
    "мост",
    "путь",
    "ветер",
    "дом",
    "завод",
    "комбинат",
    "союз",
    "центр",
    "терминал",
    "партнёр",
];

pub const RU_NOUN_F: &[&str] = &[
    "энергия",
    "компания",
    "звезда",
    "линия",
    "мануфактура",
    "фабрика",
    "группа",
    "сеть",
    "волна",
    "гавань",
    "артель",
    "корпорация",
    "логистика",
    "верфь",
];

pub const EN_FIRST_MALE: &[&str] = &[
    "James",
    "John",
    "Robert",
    "Michael",
    "William",
    "David",
    "Richard",
    "Joseph",
    "Thomas",
    "Charles",
    "Christopher",
    "Daniel",
    "Matthew",
    "Anthony",
    "Mark",
    "Steven",
    "Paul",
    "Andrew",
    "Joshua",
    "Kevin",
    "Brian",
    "George",
    "Timothy",
    "Ryan",
    "Jacob",
    "Nathan",
    "Ethan",
    "Samuel",
    "Benjamin",
    "Lucas",
    "Oliver",
    "Henry",
    "Owen",
    "Liam",
    "Noah",
    "Adrian",
    "Victor",
    "Marcus",
];

pub const EN_FIRST_FEMALE: &[&str] = &[
    "Mary",
    "Patricia",
    "Jennifer",
    "Linda",
    "Elizabeth",
    "Barbara",
    "Susan",
    "Jessica",
    "Sarah",
    "Karen",
    "Lisa",
    "Nancy",
    "Sandra",
    "Ashley",
    "Emily",
    "Michelle",
    "Amanda",
    "Melissa",
    "Rebecca",
    "Laura",
    "Emma",
    "Olivia",
    "Sophia",
    "Charlotte",
    "Amelia",
    "Hannah",
    "Grace",
    "Chloe",
    "Zoe",
    "Natalie",
    "Rachel",
    "Megan",
    "Claire",
    "Julia",
    "Diana",
    "Priya",
];

pub const EN_LAST: &[&str] = &[
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Thompson",
    "White",
    "Harris",
    "Clark",
    "Lewis",
    "Robinson",
    "Walker",
    "Young",
    "Allen",
    "King",
    "Wright",
    "Scott",
    "Hill",
    "Green",
    "Adams",
    "Baker",
    "Nelson",
    "Carter",
    "Mitchell",
    "Roberts",
    "Turner",
    "Phillips",
    "Campbell",
    "Parker",
    "Evans",
    "Edwards",
    "Collins",
    "Stewart",
    "Morris",
    "Murphy",
    "Cook",
    "Rogers",
    "Morgan",
    "Cooper",
    "Peterson",
    "Reed",
    "Bailey",
    "Bell",
    "Kelly",
    "Howard",
    "Ward",
    "Cox",
    "Richardson",
    "Wood",
    "Watson",
    "Brooks",
    "Bennett",
    "Gray",
    "Hughes",
    "Price",
    "Sanders",
    "Patel",
    "Nguyen",
    "Kim",
    "Chen",
    "O'Brien",
    "Fischer",
    "Novak",
    "Rossi",
    "Hayes",
    "Whitman",
    "Sullivan",
    "Foster",
    "Graham",
    "Reynolds",
    "Fletcher",
    "Harper",
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
    "Анна",
    "Мария",
    "Елена",
    "Ольга",
    "Наталья",
    "Татьяна",
    "Ирина",
    "Светлана",
    "Екатерина",
    "Юлия",
    "Анастасия",
    "Марина",
    "Дарья",
    "Ксения",
    "Полина",
    "Виктория",
    "Алина",
    "Вера",
    "Людмила",
    "Галина",
    "Надежда",
    "Евгения",
    "Валентина",
    "Софья",
    "Оксана",
    "Лариса",
];

/// Surnames in the masculine form; see `feminine_surname`.
pub const RU_LAST: &[&str] = &[
    "Иванов",
    "Смирнов",
    "Кузнецов",
    "Попов",
    "Васильев",
    "Петров",
    "Соколов",
    "Михайлов",
    "Новиков",
    "Фёдоров",
    "Морозов",
    "Волков",
    "Алексеев",
    "Лебедев",
    "Семёнов",
    "Егоров",
    "Павлов",
    "Козлов",
    "Степанов",
    "Николаев",
    "Орлов",
    "Андреев",
    "Макаров",
    "Никитин",
    "Захаров",
    "Зайцев",
    "Соловьёв",
    "Борисов",
    "Яковлев",
    "Григорьев",
    "Романов",
    "Воробьёв",
    "Сергеев",
    "Кузьмин",
    "Фролов",
    "Александров",
    "Дмитриев",
    "Королёв",
    "Гусев",
    "Киселёв",
    "Ильин",
    "Максимов",
    "Поляков",
    "Сорокин",
    "Виноградов",
    "Ковалёв",
    "Белов",
    "Медведев",
    "Антонов",
    "Тарасов",
    "Жуков",
    "Баранов",
    "Филиппов",
    "Комаров",
    "Давыдов",
    "Беляев",
    "Герасимов",
    "Богданов",
    "Осипов",
    "Сидоров",
    "Матвеев",
    "Титов",
    "Марков",
    "Миронов",
    "Крылов",
    "Куликов",
    "Карпов",
    "Власов",
    "Мельников",
    "Денисов",
    "Гаврилов",
    "Тихонов",
    "Казаков",
    "Афанасьев",
    "Данилов",
    "Савельев",
    "Тимофеев",
    "Фомин",
    "Чернов",
    "Абрамов",
    "Мартынов",
    "Ефимов",
    "Щербаков",
    "Назаров",
    "Калинин",
    "Исаев",
    "Быков",
    "Маслов",
    "Родионов",
    "Коновалов",
    "Лазарев",
    "Воронин",
    "Климов",
    "Филатов",
    "Пономарёв",
    "Голубев",
    "Кудрявцев",
    "Прохоров",
    "Наумов",
    "Потапов",
    "Журавлёв",
    "Соболев",
    "Ермаков",
    "Колесников",
    "Гончаров",
    "Емельянов",
    "Громов",
    "Кириллов",
    "Малышев",
    "Румянцев",
    "Горбунов",
    "Скворцов",
    "Белоусов",
    "Нестеров",
    "Цветков",
    "Краснов",
    "Жданов",
    "Рябов",
    "Ковалевский",
    "Вишневский",
    "Островский",
    "Шевченко",
    "Бондаренко",
    "Ким",
    "Толстой",
    "Нуриев",
    "Ахметов",
    "Галиев",
];

pub const EN_STREETS: &[&str] = &[
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "River",
    "Market",
    "Church",
    "Mill",
    "Spring",
    "Ridge",
    "Highland",
    "Meadow",
    "Forest",
    "Harbor",
    "Union",
    "Broad",
    "Franklin",
    "Lincoln",
    "Jefferson",
    "King",
    "Queen",
    "Victoria",
    "Station",
];
pub const EN_STREET_TYPES: &[&str] = &["St", "Ave", "Blvd", "Rd", "Dr", "Ln", "Way", "Ct", "Pl"];

pub const RU_STREETS: &[&str] = &[
    "ул. Ленина",
    "ул. Гагарина",
    "ул. Пушкина",
    "ул. Советская",
    "пр-т Мира",
    "ул. Садовая",
    "ул. Лесная",
    "пр-т Победы",
    "ул. Строителей",
    "наб. Реки Фонтанки",
    "ул. Центральная",
    "ул. Молодёжная",
    "ул. Школьная",
    "ул. Заводская",
    "ул. Кирова",
    "ул. Чехова",
    "ул. Горького",
    "ул. Тверская",
    "ул. Профсоюзная",
    "ул. Октябрьская",
    "Ленинградское ш.",
    "пер. Гончарный",
    "ул. Карла Маркса",
    "Невский пр-т",
    "ул. Баумана",
];

pub const EN_JOB_TITLES: &[&str] = &[
    "CEO",
    "CFO",
    "CTO",
    "COO",
    "Purchasing Manager",
    "Procurement Specialist",
    "IT Director",
    "Head of Operations",
    "Sales Director",
    "Marketing Manager",
    "Office Manager",
    "Project Manager",
    "Controller",
    "Logistics Coordinator",
    "Product Manager",
    "HR Director",
    "Senior Engineer",
    "Business Analyst",
    "Account Executive",
    "Founder",
    "VP of Sales",
    "Facilities Manager",
];
pub const EN_DEPARTMENTS: &[&str] = &[
    "Sales",
    "Marketing",
    "Finance",
    "IT",
    "Operations",
    "Procurement",
    "Human Resources",
    "Legal",
    "Engineering",
    "Executive",
    "Logistics",
    "Customer Service",
];

pub const RU_JOB_TITLES: &[&str] = &[
    "Генеральный директор",
    "Финансовый директор",
    "Главный бухгалтер",
    "Коммерческий директор",
    "Директор по ИТ",
    "Руководитель отдела закупок",
    "Менеджер по закупкам",
    "Менеджер по продажам",
    "Руководитель проектов",
    "Офис-менеджер",
    "Ведущий инженер",
    "Юрист",
    "Начальник отдела логистики",
    "Директор по маркетингу",
    "Специалист по тендерам",
    "Заместитель директора",
    "Системный администратор",
    "Аналитик",
    "Технический директор",
    "Начальник производства",
];
pub const RU_DEPARTMENTS: &[&str] = &[
    "Отдел продаж",
    "Маркетинг",
    "Бухгалтерия",
    "ИТ-отдел",
    "Отдел закупок",
    "Производство",
    "Юридический отдел",
    "Отдел кадров",
    "Логистика",
    "Руководство",
    "Служба поддержки",
];

pub const EN_TASKS: &[&str] = &[
    "Send proposal",
    "Prepare contract",
    "Follow up on quote",
    "Update pricing",
    "Schedule demo",
    "Check credit limit",
    "Send product catalog",
    "Prepare presentation",
    "Collect requirements",
    "Review RFP",
    "Confirm delivery date",
    "Send invoice copy",
];
pub const RU_TASKS: &[&str] = &[
    "Отправить КП",
    "Подготовить договор",
    "Уточнить детали заказа",
    "Согласовать цены",
    "Назначить демонстрацию",
    "Проверить кредитный лимит",
    "Отправить каталог",
    "Подготовить презентацию",
    "Собрать требования",
    "Изучить тендерную документацию",
    "Подтвердить дату поставки",
    "Выставить счёт",
];
pub const EN_CALLS: &[&str] = &[
    "Intro call",
    "Follow-up call",
    "Discuss pricing",
    "Qualification call",
    "Check delivery status",
    "Renewal discussion",
    "Call back about invoice",
];
pub const RU_CALLS: &[&str] = &[
    "Первичный звонок",
    "Повторный звонок",
    "Обсуждение цены",
    "Квалификационный звонок",
    "Уточнение сроков поставки",
    "Обсуждение продления",
    "Перезвонить по счёту",
];
pub const EN_MEETINGS: &[&str] = &[
    "Product demo",
    "On-site visit",
    "Quarterly business review",
    "Contract negotiation",
    "Kick-off meeting",
    "Lunch meeting",
    "Technical workshop",
];
pub const RU_MEETINGS: &[&str] = &[
    "Демонстрация продукта",
    "Встреча в офисе клиента",
    "Квартальная встреча",
    "Переговоры по договору",
    "Стартовая встреча",
    "Деловой обед",
    "Технический семинар",
];
pub const EN_EMAILS: &[&str] = &[
    "Proposal attached",
    "Meeting follow-up",
    "Pricing update",
    "Re: your inquiry",
    "Invoice",
    "Contract draft",
    "Thank you for your time",
    "Next steps",
];
pub const RU_EMAILS: &[&str] = &[
    "Коммерческое предложение",
    "Итоги встречи",
    "Обновлённый прайс",
    "Re: ваш запрос",
    "Счёт на оплату",
    "Проект договора",
    "Спасибо за встречу",
    "Дальнейшие шаги",
];
pub const EN_NOTE_SUBJECTS: &[&str] = &[
    "Call summary",
    "Customer feedback",
    "Decision makers",
    "Budget",
    "Competitors",
    "Next steps",
    "Delivery terms",
    "Pricing notes",
];
pub const RU_NOTE_SUBJECTS: &[&str] = &[
    "Итоги звонка",
    "Отзыв клиента",
    "Лица, принимающие решения",
    "Бюджет",
    "Конкуренты",
    "Следующие шаги",
    "Условия поставки",
    "Цены",
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

/// The company the demo is about: its name, email domain, the two
/// regional business units below the head office (the root unit) and the
/// time zones of the head office and the regions.
pub struct DemoCompany {
    pub name: &'static str,
    pub domain: &'static str,
    pub regions: [&'static str; 2],
    pub time_zones: [&'static str; 3],
    /// Sender of the marketing and service emails.
    pub sales_mailbox: &'static str,
}

pub const EN_COMPANY: DemoCompany = DemoCompany {
    name: "Northbridge Systems",
    domain: "northbridge.example",
    regions: ["East Region", "West Region"],
    time_zones: ["America/Chicago", "America/New_York", "America/Los_Angeles"],
    sales_mailbox: "sales@northbridge.example",
};

pub const RU_COMPANY: DemoCompany = DemoCompany {
    name: "ООО «Вектор Системс»",
    domain: "vektor.example",
    regions: ["Северо-Западный филиал", "Сибирский филиал"],
    time_zones: ["Europe/Moscow", "Europe/Moscow", "Asia/Novosibirsk"],
    sales_mailbox: "sales@vektor.example",
};

/// What a member of the demo staff does; it decides their role and which
/// records they own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Job {
    Administrator,
    SalesManager,
    Salesperson,
    Marketing,
}

impl Job {
    /// The seeded security role the job holds.
    pub fn role(self) -> &'static str {
        match self {
            Job::Administrator => "System Administrator",
            Job::SalesManager => "Sales Manager",
            Job::Salesperson => "Salesperson",
            Job::Marketing => "Marketing Professional",
        }
    }
}

/// A member of the demo staff; `unit` 0 is the head office, 1 and 2 the regions.
pub struct StaffDef {
    pub first: &'static str,
    pub middle: Option<&'static str>,
    pub last: &'static str,
    pub title: &'static str,
    pub job: Job,
    pub unit: usize,
}

const fn staff(first: &'static str, last: &'static str, title: &'static str, job: Job, unit: usize) -> StaffDef {
    StaffDef { first, middle: None, last, title, job, unit }
}

const fn staff_ru(
    first: &'static str,
    middle: &'static str,
    last: &'static str,
    title: &'static str,
    job: Job,
    unit: usize,
) -> StaffDef {
    StaffDef { first, middle: Some(middle), last, title, job, unit }
}

pub const EN_STAFF: &[StaffDef] = &[
    staff("Olivia", "Bennett", "IT Administrator", Job::Administrator, 0),
    staff("Marcus", "Reed", "VP of Sales", Job::SalesManager, 0),
    staff("Hannah", "Cole", "Marketing Specialist", Job::Marketing, 0),
    staff("Daniel", "Brooks", "Account Executive", Job::Salesperson, 0),
    staff("Laura", "Hayes", "Regional Sales Manager", Job::SalesManager, 1),
    staff("Ethan", "Walker", "Account Executive", Job::Salesperson, 1),
    staff("Grace", "Kim", "Account Executive", Job::Salesperson, 1),
    staff("Ryan", "Patel", "Regional Sales Manager", Job::SalesManager, 2),
    staff("Chloe", "Martinez", "Account Executive", Job::Salesperson, 2),
    staff("Noah", "Fischer", "Account Executive", Job::Salesperson, 2),
];

pub const RU_STAFF: &[StaffDef] = &[
    staff_ru("Ольга", "Викторовна", "Беляева", "Системный администратор", Job::Administrator, 0),
    staff_ru("Максим", "Андреевич", "Ершов", "Коммерческий директор", Job::SalesManager, 0),
    staff_ru("Анна", "Сергеевна", "Крылова", "Маркетолог", Job::Marketing, 0),
    staff_ru("Дмитрий", "Олегович", "Соколов", "Менеджер по продажам", Job::Salesperson, 0),
    staff_ru("Елена", "Павловна", "Воронина", "Руководитель филиала", Job::SalesManager, 1),
    staff_ru("Игорь", "Николаевич", "Лебедев", "Менеджер по продажам", Job::Salesperson, 1),
    staff_ru("Наталья", "Игоревна", "Морозова", "Менеджер по продажам", Job::Salesperson, 1),
    staff_ru("Сергей", "Михайлович", "Ковалёв", "Руководитель филиала", Job::SalesManager, 2),
    staff_ru("Татьяна", "Алексеевна", "Зайцева", "Менеджер по продажам", Job::Salesperson, 2),
    staff_ru("Алексей", "Владимирович", "Гусев", "Менеджер по продажам", Job::Salesperson, 2),
];

/// The unit groups of the catalog: the group's name, its base unit, and a
/// larger unit with how many base units it holds.
pub struct UnitGroupDef {
    pub name: &'static str,
    pub base: &'static str,
    pub larger: (&'static str, u32),
}

pub const EN_UNIT_GROUPS: [UnitGroupDef; 2] = [
    UnitGroupDef { name: "Pieces", base: "pcs", larger: ("box of 10", 10) },
    UnitGroupDef { name: "Time", base: "hour", larger: ("day (8 hours)", 8) },
];

pub const RU_UNIT_GROUPS: [UnitGroupDef; 2] = [
    UnitGroupDef { name: "Штучный товар", base: "шт.", larger: ("упак. (10 шт.)", 10) },
    UnitGroupDef { name: "Время", base: "ч", larger: ("день (8 ч)", 8) },
];

/// What a deal is about: the products it draws its lines from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Theme {
    Workplace,
    Network,
    Software,
    Services,
}

pub const THEMES: [Theme; 4] = [Theme::Workplace, Theme::Network, Theme::Software, Theme::Services];

/// A product of the demo catalog. `group` indexes the unit groups (0
/// pieces, 1 time); the price is per base unit in the language's
/// currency; `quantity` is the usual range ordered.
pub struct ProductDef {
    pub name: &'static str,
    pub number: &'static str,
    pub group: usize,
    pub price: u32,
    pub theme: Theme,
    pub quantity: (u32, u32),
    /// Sold by the box (or the day) as well.
    pub larger_unit: bool,
}

const fn product(
    name: &'static str,
    number: &'static str,
    group: usize,
    price: u32,
    theme: Theme,
    quantity: (u32, u32),
    larger_unit: bool,
) -> ProductDef {
    ProductDef { name, number, group, price, theme, quantity, larger_unit }
}

pub const EN_CATALOG: &[ProductDef] = &[
    product("Laptop Pro 14", "NB-LT14", 0, 1450, Theme::Workplace, (3, 40), false),
    product("Laptop Air 13", "NB-LA13", 0, 1090, Theme::Workplace, (3, 40), false),
    product("Desktop Workstation W7", "NB-DW7", 0, 1890, Theme::Workplace, (2, 20), false),
    product("27-inch 4K Monitor", "NB-M27", 0, 329, Theme::Workplace, (5, 60), false),
    product("USB-C Docking Station", "NB-DK1", 0, 219, Theme::Workplace, (5, 60), false),
    product("Wireless Keyboard and Mouse", "NB-KM2", 0, 79, Theme::Workplace, (10, 100), true),
    product("Network Switch, 24 ports", "NB-SW24", 0, 540, Theme::Network, (1, 6), false),
    product("Wi-Fi 6 Access Point", "NB-AP6", 0, 260, Theme::Network, (2, 20), false),
    product("Network Cable Cat6, 3 m", "NB-CB6", 0, 9, Theme::Network, (20, 200), true),
    product("Office Suite License, 1 year", "NB-OFS", 0, 120, Theme::Software, (10, 200), false),
    product("Cloud Backup 1 TB, 1 year", "NB-CBK", 0, 96, Theme::Software, (5, 100), false),
    product("Endpoint Security, 1 year", "NB-SEC", 0, 45, Theme::Software, (10, 200), false),
    product("Business Support Plan, 1 year", "NB-SUP", 0, 480, Theme::Services, (1, 3), false),
    product("On-site Installation", "NB-INS", 1, 85, Theme::Services, (4, 60), true),
    product("IT Consulting", "NB-CON", 1, 140, Theme::Services, (8, 120), true),
];

pub const RU_CATALOG: &[ProductDef] = &[
    product("Ноутбук ВС-14 Про", "ВС-НБ14", 0, 129_900, Theme::Workplace, (3, 40), false),
    product("Ноутбук ВС-13 Лайт", "ВС-НБ13", 0, 89_900, Theme::Workplace, (3, 40), false),
    product("Рабочая станция РС-7", "ВС-РС7", 0, 169_000, Theme::Workplace, (2, 20), false),
    product("Монитор 27\" 4K", "ВС-МН27", 0, 32_900, Theme::Workplace, (5, 60), false),
    product("Док-станция USB-C", "ВС-ДС1", 0, 18_500, Theme::Workplace, (5, 60), false),
    product("Комплект клавиатура и мышь", "ВС-КМ2", 0, 6_900, Theme::Workplace, (10, 100), true),
    product("Коммутатор на 24 порта", "ВС-КМ24", 0, 46_000, Theme::Network, (1, 6), false),
    product("Точка доступа Wi-Fi 6", "ВС-ТД6", 0, 21_500, Theme::Network, (2, 20), false),
    product("Патч-корд Cat6, 3 м", "ВС-ПК6", 0, 450, Theme::Network, (20, 200), true),
    product("Лицензия офисного пакета, 1 год", "ВС-ОФП", 0, 9_600, Theme::Software, (10, 200), false),
    product("Облачное резервное копирование 1 ТБ, 1 год", "ВС-РК1", 0, 7_900, Theme::Software, (5, 100), false),
    product("Антивирусная защита, 1 год", "ВС-АВЗ", 0, 2_900, Theme::Software, (10, 200), false),
    product("Техподдержка «Бизнес», 1 год", "ВС-ТПБ", 0, 39_000, Theme::Services, (1, 3), false),
    product("Монтаж и настройка на объекте", "ВС-МНТ", 1, 3_500, Theme::Services, (4, 60), true),
    product("ИТ-консалтинг", "ВС-КНС", 1, 6_500, Theme::Services, (8, 120), true),
];

/// An opportunity's name: the customer and what the deal is about.
pub fn deal_name(lang: super::generate::Lang, theme: Theme, customer: &str) -> String {
    use super::generate::Lang;
    let what = match (lang, theme) {
        (Lang::En, Theme::Workplace) => "workplace refresh",
        (Lang::En, Theme::Network) => "office network upgrade",
        (Lang::En, Theme::Software) => "software licenses",
        (Lang::En, Theme::Services) => "IT support and services",
        (Lang::Ru, Theme::Workplace) => "обновление рабочих мест",
        (Lang::Ru, Theme::Network) => "модернизация сети",
        (Lang::Ru, Theme::Software) => "лицензии ПО",
        (Lang::Ru, Theme::Services) => "ИТ-обслуживание",
    };
    format!("{customer}: {what}")
}

/// The seeded sales stages (by stage category) and their names in the
/// demo's language, when it is not English.
pub fn sales_stage_names(lang: super::generate::Lang) -> Option<&'static [(&'static str, &'static str); 4]> {
    match lang {
        super::generate::Lang::En => None,
        super::generate::Lang::Ru => Some(&[
            ("Qualify", "Квалификация"),
            ("Develop", "Разработка"),
            ("Propose", "Предложение"),
            ("Close", "Закрытие"),
        ]),
    }
}

/// The demo's currency for each language (ISO code, name, symbol) and
/// rates against the US dollar, to price the catalog when the
/// organization's base currency is another one.
pub const EN_CURRENCY: (&str, &str, &str) = ("USD", "US Dollar", "$");
pub const RU_CURRENCY: (&str, &str, &str) = ("RUB", "Российский рубль", "₽");
pub const RATES_PER_USD: &[(&str, &str)] =
    &[("USD", "1"), ("EUR", "0.92"), ("GBP", "0.79"), ("RUB", "90"), ("KZT", "470"), ("BYN", "3.2"), ("CNY", "7.2")];

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
