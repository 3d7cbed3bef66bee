package seed

import hg "github.com/healthgraph/healthgraph"

// The vocabulary the generator draws from. Names are common Saudi given and
// family names with their Arabic spelling; codes are real ICD-10 codes a
// clinic of each specialty would record. Every person made from them is
// synthetic.

type name struct{ en, ar string }

var maleNames = []name{
	{"Mohammed", "محمد"}, {"Abdullah", "عبدالله"}, {"Abdulrahman", "عبدالرحمن"}, {"Khalid", "خالد"},
	{"Faisal", "فيصل"}, {"Saud", "سعود"}, {"Sultan", "سلطان"}, {"Fahad", "فهد"}, {"Turki", "تركي"},
	{"Nasser", "ناصر"}, {"Omar", "عمر"}, {"Ahmed", "أحمد"}, {"Ibrahim", "إبراهيم"}, {"Yousef", "يوسف"},
	{"Saleh", "صالح"}, {"Majed", "ماجد"}, {"Nawaf", "نواف"}, {"Bandar", "بندر"}, {"Hamad", "حمد"},
	{"Ali", "علي"}, {"Mishal", "مشعل"}, {"Ziyad", "زياد"}, {"Rakan", "راكان"}, {"Hassan", "حسن"},
	{"Abdulaziz", "عبدالعزيز"}, {"Abdulmajeed", "عبدالمجيد"}, {"Mansour", "منصور"}, {"Waleed", "وليد"},
	{"Yazeed", "يزيد"}, {"Hamza", "حمزة"}, {"Osama", "أسامة"}, {"Tariq", "طارق"}, {"Badr", "بدر"},
	{"Mazen", "مازن"}, {"Anas", "أنس"}, {"Adel", "عادل"},
}

var femaleNames = []name{
	{"Noura", "نورة"}, {"Sara", "سارة"}, {"Fatimah", "فاطمة"}, {"Aisha", "عائشة"}, {"Maha", "مها"},
	{"Reem", "ريم"}, {"Hessa", "حصة"}, {"Lama", "لمى"}, {"Amal", "أمل"}, {"Asma", "أسماء"},
	{"Hind", "هند"}, {"Munira", "منيرة"}, {"Latifa", "لطيفة"}, {"Jawaher", "جواهر"}, {"Abeer", "عبير"},
	{"Dana", "دانة"}, {"Razan", "رزان"}, {"Shahad", "شهد"}, {"Ghada", "غادة"}, {"Nouf", "نوف"},
	{"Wejdan", "وجدان"}, {"Haifa", "هيفاء"}, {"Rawan", "روان"}, {"Maryam", "مريم"},
	{"Lulwa", "لولوة"}, {"Nada", "ندى"}, {"Hanan", "حنان"}, {"Ohood", "عهود"}, {"Arwa", "أروى"},
	{"Lina", "لينا"}, {"Rahaf", "رهف"}, {"Joud", "جود"}, {"Manal", "منال"}, {"Samar", "سمر"},
	{"Bushra", "بشرى"}, {"Dalal", "دلال"},
}

var familyNames = []name{
	{"Alotaibi", "العتيبي"}, {"Alqahtani", "القحطاني"}, {"Alghamdi", "الغامدي"}, {"Alzahrani", "الزهراني"},
	{"Alharbi", "الحربي"}, {"Almutairi", "المطيري"}, {"Aldosari", "الدوسري"}, {"Alshehri", "الشهري"},
	{"Alanazi", "العنزي"}, {"Alshammari", "الشمري"}, {"Alsubaie", "السبيعي"}, {"Alyami", "اليامي"},
	{"Alasmari", "الأسمري"}, {"Almalki", "المالكي"}, {"Albalawi", "البلوي"}, {"Aljohani", "الجهني"},
	{"Alrashidi", "الرشيدي"}, {"Alamri", "العمري"}, {"Alshahrani", "الشهراني"}, {"Alkhaldi", "الخالدي"},
	{"Alhajri", "الهاجري"}, {"Alsahli", "السهلي"}, {"Alturki", "التركي"}, {"Alfaraj", "الفرج"},
	{"Albaqami", "البقمي"}, {"Alsaeed", "السعيد"}, {"Alahmadi", "الأحمدي"}, {"Alsulami", "السلمي"},
	{"Alhazmi", "الحازمي"}, {"Alqurashi", "القرشي"}, {"Almansour", "المنصور"}, {"Alsaleh", "الصالح"},
	{"Alhamdan", "الحمدان"}, {"Alkhathami", "الخثعمي"}, {"Alsharif", "الشريف"}, {"Alrasheed", "الرشيد"},
}

// Expatriate names, as iqama holders from South and South-East Asia,
// Egypt and the West carry them, with the Arabic spelling a registration
// desk writes.
var expatMaleNames = []name{
	{"John", "جون"}, {"David", "ديفيد"}, {"Michael", "مايكل"}, {"Rahul", "راهول"}, {"Arjun", "أرجون"},
	{"Imran", "عمران"}, {"Bilal", "بلال"}, {"Mahmoud", "محمود"}, {"Mostafa", "مصطفى"}, {"Jose", "خوسيه"},
	{"Mark", "مارك"}, {"Samuel", "صموئيل"}, {"Ramesh", "راميش"}, {"Tamer", "تامر"},
}

var expatFemaleNames = []name{
	{"Mary", "ماري"}, {"Grace", "غريس"}, {"Priya", "بريا"}, {"Anjali", "أنجالي"}, {"Fatima", "فاطمة"},
	{"Ayesha", "عائشة"}, {"Maria", "ماريا"}, {"Joy", "جوي"}, {"Sarah", "سارة"}, {"Emily", "إيميلي"},
	{"Rania", "رانيا"}, {"Yasmin", "ياسمين"}, {"Lakshmi", "لاكشمي"}, {"Angela", "أنجيلا"},
}

var expatFamilyNames = []name{
	{"Khan", "خان"}, {"Sharma", "شارما"}, {"Nair", "ناير"}, {"Santos", "سانتوس"}, {"Reyes", "رييس"},
	{"Cruz", "كروز"}, {"Smith", "سميث"}, {"Johnson", "جونسون"}, {"Hassan", "حسن"}, {"Abdelrahman", "عبدالرحمن"},
	{"Mahmoud", "محمود"}, {"Fernandes", "فرنانديز"}, {"Qureshi", "قريشي"}, {"Patel", "باتيل"}, {"Mendoza", "مندوزا"},
	{"Ibrahim", "إبراهيم"},
}

// specialty is an NPHIES practice code with the diagnoses its clinic sees.
type specialty struct {
	code, display string
	diagnoses     []diagnosis
}

type diagnosis struct{ code, text string }

var specialties = []specialty{
	{"08.00", "Internal Medicine", []diagnosis{
		{"E11.9", "Type 2 diabetes mellitus without complications"}, {"I10", "Essential (primary) hypertension"},
		{"E78.5", "Hyperlipidaemia, unspecified"}, {"K21.9", "Gastro-oesophageal reflux disease without oesophagitis"},
		{"E55.9", "Vitamin D deficiency, unspecified"}, {"D50.9", "Iron deficiency anaemia, unspecified"}}},
	{"14.00", "Pediatrics", []diagnosis{
		{"J06.9", "Acute upper respiratory infection, unspecified"}, {"A09", "Infectious gastroenteritis and colitis"},
		{"H66.9", "Otitis media, unspecified"}, {"J45.9", "Asthma, unspecified"}, {"R50.9", "Fever, unspecified"}}},
	{"06.00", "Family Medicine", []diagnosis{
		{"J02.9", "Acute pharyngitis, unspecified"}, {"M54.5", "Low back pain"}, {"R51", "Headache"},
		{"N39.0", "Urinary tract infection, site not specified"}, {"J30.4", "Allergic rhinitis, unspecified"}}},
	{"10.00", "Obstetrics & Gynecology", []diagnosis{
		{"Z34.9", "Supervision of normal pregnancy, unspecified"}, {"O24.4", "Diabetes mellitus arising in pregnancy"},
		{"N92.0", "Excessive and frequent menstruation with regular cycle"}, {"E28.2", "Polycystic ovarian syndrome"}}},
	{"12.00", "Orthopedics", []diagnosis{
		{"M17.1", "Other primary gonarthrosis"}, {"S93.4", "Sprain and strain of ankle"},
		{"M75.1", "Rotator cuff syndrome"}, {"M51.2", "Other specified intervertebral disc displacement"}}},
	{"03.00", "Dermatology", []diagnosis{
		{"L20.9", "Atopic dermatitis, unspecified"}, {"L70.0", "Acne vulgaris"}, {"L40.0", "Psoriasis vulgaris"},
		{"B35.1", "Tinea unguium"}, {"L80", "Vitiligo"}}},
	{"05.00", "Ear, Nose & Throat", []diagnosis{
		{"J32.9", "Chronic sinusitis, unspecified"}, {"J35.0", "Chronic tonsillitis"},
		{"H91.9", "Hearing loss, unspecified"}, {"H81.1", "Benign paroxysmal vertigo"}}},
	{"11.00", "Ophthalmology", []diagnosis{
		{"H52.1", "Myopia"}, {"H40.1", "Primary open-angle glaucoma"}, {"H25.9", "Senile cataract, unspecified"},
		{"H10.9", "Conjunctivitis, unspecified"}}},
}

var allergies = []diagnosis{
	{"Z88.0", "Allergy status to penicillin"}, {"Z88.1", "Allergy status to other antibiotic agents"},
	{"Z91.0", "Allergy status, other than to drugs and biological substances (peanuts)"},
	{"Z88.6", "Allergy status to analgesic agent (ibuprofen)"},
}

var prescriptions = []string{
	"Metformin 500 mg orally twice daily with meals, 90 days.",
	"Amlodipine 5 mg orally once daily, 90 days.",
	"Amoxicillin 500 mg orally three times daily, 7 days.",
	"Paracetamol 500 mg orally every 6 hours as needed, maximum 4 g a day.",
	"Cholecalciferol 50,000 IU orally once weekly, 8 weeks.",
	"Omeprazole 20 mg orally once daily before breakfast, 4 weeks.",
	"Cetirizine 10 mg orally once daily, 14 days.",
	"Salbutamol inhaler 100 mcg, 2 puffs as needed.",
}

var labResults = []string{
	"HbA1c 7.4 % (reference < 5.7 %).",
	"Fasting glucose 6.1 mmol/L; LDL cholesterol 3.6 mmol/L.",
	"Haemoglobin 11.2 g/dL; ferritin 9 ng/mL.",
	"25-OH vitamin D 18 ng/mL (deficient).",
	"Urinalysis: leukocyte esterase positive, nitrite positive.",
	"CBC within normal limits.",
}

var visitReasons = []string{
	"Follow-up visit", "New complaint", "Annual check-up", "Prescription refill", "Lab results review",
	"Post-operative review", "Referral consultation",
}

var cancelReasons = []string{
	"Patient request", "Practitioner unavailable", "Rescheduled by the clinic", "Patient travelling",
}

// payer is an NPHIES payer licence with a display name and the payer's
// member-ID system. The licences follow the NPHIES ten-digit format (the
// first is the one NPHIES's examples use); the names are the demo's own.
// Saudi National Insurance's member-ID system is the one NPHIES's official
// examples show for it; the demo payers' are on the reserved example
// domain.
type payer struct{ license, name, memberSystem string }

var payers = []payer{
	{"7001463160", "Saudi National Insurance", "http://sni.com.sa/memberid"},
	{"7001593321", "Najd Cooperative Health (demo)", "http://najd-health.example/memberid"},
	{"7001720458", "Hejaz Takaful Health (demo)", "http://hejaz-takaful.example/memberid"},
	{"7001846902", "Eastern Province Mutual (demo)", "http://eastern-mutual.example/memberid"},
}

// planClass is a coverage class with the patient's co-pay under it.
type planClass struct {
	name  string
	copay int
}

var planClasses = []planClass{{"VIP", 0}, {"A", 10}, {"B", 20}, {"C", 20}, {"C", 30}}

// demoOccupations and demoMaritalStatuses are handed out by patient index,
// so filling them draws nothing from the generator and leaves every other
// generated value as it was.
var (
	demoOccupations     = hg.Occupations
	demoMaritalStatuses = []hg.MaritalStatus{hg.MaritalMarried, hg.MaritalUnmarried, hg.MaritalMarried,
		hg.MaritalDivorced, hg.MaritalMarried, hg.MaritalWidowed}
)

// service is a billable catalogue item with its unit price.
type service struct {
	system            hg.CodeSystem
	code, description string
	price             hg.Halalas
}

// consultations are what every billed visit charges; extras are added to
// some. All are items of the demo catalogue (catalogue.csv), billed under
// their own NPHIES code system at the examples' prices.
var (
	consultations = []service{
		{hg.SystemServices, "83600-00-10", "Office assessment for diagnosis and treatment and counselling by a specialist", 10_600},
		{hg.SystemServices, "83600-00-00", "General practitioner consultation", 10_000},
	}
	extras = []service{
		{hg.SystemServices, "83620-00-10", "Physiotherapy", 10_600},
		{hg.SystemProcedures, "11000-00-00", "Electroencephalography", 85_000},
		{hg.SystemMedication, "06285096001627", "Anti-viral for chest congestion", 6_000},
		{hg.SystemMedication, "05944736008570", "Ampicillin 500 mg powder for IV and IM injection", 10_000},
	}
)

var voidReasons = []string{"Billed to the wrong patient", "Duplicate invoice", "Visit not attended"}

var paymentMethods = []hg.PaymentMethod{hg.PaymentCard, hg.PaymentCard, hg.PaymentCash, hg.PaymentTransfer}
