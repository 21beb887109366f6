//! Name and place lists.
//!
//! Sources (public facts, written out here by hand): first names are among the most common US
//! given names in the Social Security Administration's "Popular Baby Names" tables (ssa.gov,
//! decades 1940s-2010s); surnames are among the most frequent in the US Census Bureau's 2010
//! surname file. Streets are generic American street names; the towns are real places in central
//! Ohio with their real ZIP codes (US Postal Service), so addresses look plausible while the
//! street numbers make them fictional. Phone numbers use 555-01xx, the range reserved for
//! fiction by the North American Numbering Plan.

pub(crate) const FEMALE_FIRST: &[&str] = &[
    "Mary", "Patricia", "Linda", "Barbara", "Elizabeth", "Jennifer", "Maria", "Susan", "Margaret",
    "Dorothy", "Lisa", "Nancy", "Karen", "Betty", "Helen", "Sandra", "Donna", "Carol", "Ruth",
    "Sharon", "Michelle", "Laura", "Sarah", "Kimberly", "Deborah", "Jessica", "Shirley", "Cynthia",
    "Angela", "Melissa", "Brenda", "Amy", "Anna", "Rebecca", "Virginia", "Kathleen", "Pamela",
    "Martha", "Debra", "Amanda", "Stephanie", "Carolyn", "Christine", "Marie", "Janet", "Catherine",
    "Frances", "Ann", "Joyce", "Diane", "Alice", "Julie", "Heather", "Teresa", "Doris", "Gloria",
    "Evelyn", "Jean", "Cheryl", "Mildred", "Katherine", "Joan", "Ashley", "Judith", "Rose",
    "Janice", "Kelly", "Nicole", "Judy", "Christina", "Kathy", "Theresa", "Beverly", "Denise",
    "Tammy", "Irene", "Jane", "Lori", "Rachel", "Marilyn", "Andrea", "Kathryn", "Louise", "Sara",
    "Anne", "Jacqueline", "Wanda", "Bonnie", "Julia", "Ruby", "Lois", "Tina", "Phyllis", "Norma",
    "Paula", "Diana", "Annie", "Lillian", "Emily", "Robin", "Emma", "Olivia", "Sophia", "Isabella",
    "Ava", "Mia", "Abigail", "Madison", "Chloe", "Grace", "Hannah", "Samantha", "Natalie",
    "Lauren", "Megan", "Brittany", "Danielle", "Alexis", "Victoria", "Lily", "Zoe", "Harper",
    "Ella", "Avery", "Sofia", "Camila", "Aria", "Scarlett", "Gabriela", "Valentina", "Lucia",
    "Rosa", "Carmen", "Ana", "Mei", "Linh", "Priya", "Aisha", "Keisha", "Jasmine", "Destiny",
];

pub(crate) const MALE_FIRST: &[&str] = &[
    "James", "John", "Robert", "Michael", "William", "David", "Richard", "Charles", "Joseph",
    "Thomas", "Christopher", "Daniel", "Paul", "Mark", "Donald", "George", "Kenneth", "Steven",
    "Edward", "Brian", "Ronald", "Anthony", "Kevin", "Jason", "Matthew", "Gary", "Timothy",
    "Jose", "Larry", "Jeffrey", "Frank", "Scott", "Eric", "Stephen", "Andrew", "Raymond",
    "Gregory", "Joshua", "Jerry", "Dennis", "Walter", "Patrick", "Peter", "Harold", "Douglas",
    "Henry", "Carl", "Arthur", "Ryan", "Roger", "Joe", "Juan", "Jack", "Albert", "Jonathan",
    "Justin", "Terry", "Gerald", "Keith", "Samuel", "Willie", "Ralph", "Lawrence", "Nicholas",
    "Roy", "Benjamin", "Bruce", "Brandon", "Adam", "Harry", "Fred", "Wayne", "Billy", "Steve",
    "Louis", "Jeremy", "Aaron", "Randy", "Howard", "Eugene", "Carlos", "Russell", "Bobby",
    "Victor", "Martin", "Ernest", "Phillip", "Todd", "Jesse", "Craig", "Alan", "Shawn", "Clarence",
    "Sean", "Philip", "Chris", "Johnny", "Earl", "Jimmy", "Antonio", "Liam", "Noah", "Oliver",
    "Elijah", "Lucas", "Mason", "Logan", "Ethan", "Jacob", "Aiden", "Jackson", "Sebastian",
    "Mateo", "Owen", "Caleb", "Tyler", "Dylan", "Nathan", "Isaac", "Luis", "Miguel", "Diego",
    "Alejandro", "Minh", "Wei", "Raj", "Omar", "Malik", "Darnell", "Andre", "Marcus", "Jamal",
];

/// Frequent US surnames (Census 2010), general list.
pub(crate) const SURNAMES: &[&str] = &[
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Miller", "Davis", "Wilson", "Anderson",
    "Taylor", "Thomas", "Moore", "Jackson", "Martin", "Lee", "Thompson", "White", "Harris",
    "Clark", "Lewis", "Robinson", "Walker", "Young", "Allen", "King", "Wright", "Scott", "Hill",
    "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Roberts", "Turner", "Phillips",
    "Campbell", "Parker", "Evans", "Edwards", "Collins", "Stewart", "Morris", "Murphy", "Cook",
    "Rogers", "Morgan", "Peterson", "Cooper", "Reed", "Bailey", "Bell", "Kelly", "Howard", "Ward",
    "Cox", "Richardson", "Wood", "Watson", "Brooks", "Bennett", "Gray", "James", "Hughes", "Price",
    "Sanders", "Myers", "Long", "Ross", "Foster", "Powell", "Jenkins", "Perry", "Russell",
    "Sullivan", "Coleman", "Butler", "Henderson", "Barnes", "Fisher", "Graham", "Hayes",
    "Wallace", "Woods", "Cole", "West", "Jordan", "Owens", "Reynolds", "Ellis", "Harrison",
    "Gibson", "Mcdonald", "Marshall", "Wells", "Hunt", "Palmer", "Black", "Stone", "Hamilton",
    "Nguyen", "Kim", "Chen", "Wang", "Patel", "Tran", "Le", "Park", "Shah", "Singh",
];

/// Frequent Hispanic surnames in the same Census file, used for patients recorded as
/// Hispanic or Latino so that names and ethnicity agree more often than not.
pub(crate) const HISPANIC_SURNAMES: &[&str] = &[
    "Garcia", "Rodriguez", "Martinez", "Hernandez", "Lopez", "Gonzalez", "Perez", "Sanchez",
    "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Reyes", "Morales", "Cruz", "Ortiz",
    "Gutierrez", "Chavez", "Ramos", "Ruiz", "Alvarez", "Mendoza", "Castillo", "Jimenez", "Vasquez",
    "Romero", "Herrera", "Medina", "Aguilar", "Vargas", "Guzman", "Salazar", "Castro", "Delgado",
];

pub(crate) const STREETS: &[&str] = &[
    "Main Street", "Oak Street", "Maple Avenue", "Cedar Lane", "Elm Street", "Park Avenue",
    "Washington Street", "Lake Drive", "Hill Road", "Pine Street", "Walnut Street", "Sunset Drive",
    "Highland Avenue", "Church Street", "Spring Street", "Meadow Lane", "Ridge Road",
    "Chestnut Street", "River Road", "Forest Drive", "Lincoln Avenue", "Jefferson Street",
    "Franklin Avenue", "Willow Way", "Cherry Lane", "Broad Street", "High Street", "Summit Avenue",
];

/// (city, ZIP) in Franklin and Delaware counties, Ohio.
pub(crate) const CITIES: &[(&str, &str)] = &[
    ("Columbus", "43215"),
    ("Columbus", "43201"),
    ("Columbus", "43206"),
    ("Columbus", "43214"),
    ("Columbus", "43229"),
    ("Dublin", "43017"),
    ("Westerville", "43081"),
    ("Grove City", "43123"),
    ("Hilliard", "43026"),
    ("Gahanna", "43230"),
    ("Reynoldsburg", "43068"),
    ("Upper Arlington", "43221"),
    ("Worthington", "43085"),
    ("Delaware", "43015"),
    ("Bexley", "43209"),
];

pub(crate) const STATE: &str = "OH";
pub(crate) const AREA_CODE: &str = "614";
