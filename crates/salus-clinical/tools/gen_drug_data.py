#!/usr/bin/env python3
"""Regenerates data/drugs.json, data/interactions-*.json and data/allergens.json.

Inputs (public data, read from local copies; nothing is fetched here):
  VSAC value-set expansions as published in the cqframework eCQM content packages
    (ecqm-content-r4-2021 and ecqm-content-qicore-2024): RxNorm codes with their names.
  FDA UNII / RxNorm / DrugBank mapping (2014-04-04) and the ONC high-priority and
    non-interruptive DDI tables, from dbmi-pitt/public-PDDI-analysis.
Usage: gen_drug_data.py VSETS_JSON FDA_RXNORM_TSV OUT_DIR
The class lists below are the Salus editors' transcription of the cited tables.
"""
import json, re, sys
from collections import OrderedDict

vsets_path, fda_path, out_dir = sys.argv[1:4]
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"

# ---------------------------------------------------------------- ingredient codes
fda = {}
for line in open(fda_path, encoding="utf-8"):
    p = line.rstrip("\n").split("\t")
    if len(p) >= 3 and p[2].isdigit():
        fda.setdefault(p[0].lower(), p[2])
vsets = json.load(open(vsets_path))
vsac_rx = {}
for v in vsets:
    for s, c, d in v["codes"]:
        if s == RXNORM and d:
            vsac_rx[c] = d
vsac_in = {}
for c, d in vsac_rx.items():
    if not re.search(r"\d", d) and "/" not in d and not re.search(
        r"(Product|Pill|Tablet|Injector|Inhalant|Capsule|Solution)$", d):
        vsac_in[d.lower()] = c

# Where RxNorm's ingredient name differs from the FDA preferred term.
ALIASES = {"clavulanate": "clavulanate", "penicillin v": "penicillin v", "alendronate": "alendronate"}
MANUAL = {
    # RxNorm IN codes not present under these names in the inputs; checked against
    # the Synthea 2.4 data and VSAC (US Core substances) where noted in the report.
}

def ingredient_code(name):
    n = name.lower()
    if n in vsac_in:
        return vsac_in[n], "VSAC"
    if n in fda:
        return fda[n], "FDA-UNII/RxNorm"
    if n in MANUAL:
        return MANUAL[n], "manual"
    return None, None

# ---------------------------------------------------------------- classes
# id -> (name, duplicate_therapy, members)
CLASSES = OrderedDict()
def cls(cid, name, dup, members):
    CLASSES[cid] = (name, dup, members.split(","))

cls("maoi", "Monoamine oxidase inhibitors", True,
    "tranylcypromine,phenelzine,isocarboxazid,selegiline,rasagiline,procarbazine,linezolid,methylene blue")
cls("amphetamine-derivative", "Amphetamine derivatives and sympathomimetic stimulants", False,
    "dexmethylphenidate,dextroamphetamine,methylphenidate,lisdexamfetamine,methamphetamine,phendimetrazine,pseudoephedrine,amphetamine,benzphetamine,diethylpropion,phentermine,atomoxetine")
cls("ppi", "Proton pump inhibitors", True, "omeprazole,lansoprazole,pantoprazole,rabeprazole,esomeprazole,dexlansoprazole")
cls("thiopurine", "Thiopurines", True, "azathioprine,mercaptopurine")
cls("ssri", "Selective serotonin reuptake inhibitors", True, "fluoxetine,paroxetine,citalopram,escitalopram,sertraline,fluvoxamine,vilazodone,vortioxetine")
cls("snri", "Serotonin-norepinephrine reuptake inhibitors", True, "duloxetine,desvenlafaxine,milnacipran,venlafaxine,levomilnacipran")
cls("serotonergic-antidepressant-onc", "SSRIs/SNRIs and related serotonergic antidepressants (ONC high-priority pair 8)", False,
    "fluoxetine,paroxetine,citalopram,escitalopram,sertraline,fluvoxamine,duloxetine,nefazodone,desvenlafaxine,milnacipran,venlafaxine")
cls("protease-inhibitor", "HIV/HCV protease inhibitors", True, "ritonavir,nelfinavir,atazanavir,indinavir,saquinavir,amprenavir,darunavir,lopinavir,tipranavir,fosamprenavir")
cls("strong-cyp3a4-inhibitor-onc", "CYP3A4 inhibitors (ONC high-priority list)", False,
    "ritonavir,nelfinavir,atazanavir,indinavir,saquinavir,amprenavir,darunavir,lopinavir,tipranavir,fosamprenavir,clarithromycin,erythromycin,telithromycin,amiodarone,verapamil,diltiazem,ketoconazole,itraconazole,fluconazole,voriconazole,nefazodone")
cls("macrolide", "Macrolide antibiotics", True, "clarithromycin,erythromycin,azithromycin,telithromycin")
cls("azole-antifungal", "Azole antifungals (systemic)", True, "ketoconazole,itraconazole,fluconazole,voriconazole,posaconazole")
cls("opioid", "Opioid analgesics", True, "meperidine,methadone,tapentadol,fentanyl,tramadol,oxycodone,hydrocodone,morphine,hydromorphone,codeine,oxymorphone,buprenorphine")
cls("serotonergic-opioid-onc", "Narcotic analgesics with serotonergic activity (ONC high-priority pair 16)", False,
    "meperidine,methadone,tapentadol,fentanyl,tramadol,dextromethorphan")
cls("tca", "Tricyclic antidepressants", True, "amitriptyline,clomipramine,desipramine,doxepin,imipramine,nortriptyline,protriptyline,trimipramine")
cls("qt-known-risk", "QT-prolonging drugs with known risk of torsades de pointes (CredibleMeds list used by ONC)", False,
    "amiodarone,anagrelide,arsenic trioxide,astemizole,azithromycin,bepridil,chloroquine,chlorpromazine,cisapride,citalopram,clarithromycin,cocaine,disopyramide,dofetilide,dronedarone,droperidol,erythromycin,escitalopram,flecainide,halofantrine,haloperidol,ibutilide,levomethadyl,mesoridazine,methadone,moxifloxacin,ondansetron,pentamidine,pimozide,probucol,procainamide,quinidine,sevoflurane,sotalol,sparfloxacin,terfenadine,thioridazine,vandetanib")
cls("cyp1a2-inhibitor-onc", "CYP1A2 inhibitors (ONC high-priority list)", False, "fluvoxamine,amiodarone,ticlopidine,ciprofloxacin,mexiletine,propafenone,zileuton")
cls("strong-cyp3a4-inducer-onc", "Strong CYP3A4 inducers (ONC high-priority list)", False, "bosentan,rifapentine,carbamazepine,rifabutin,rifampin,st. john's wort")
cls("statin", "HMG-CoA reductase inhibitors (statins)", True, "simvastatin,lovastatin,atorvastatin,rosuvastatin,pravastatin,fluvastatin,pitavastatin")
cls("ergot", "Ergot alkaloids and derivatives", True, "ergotamine,methylergonovine,dihydroergotamine,ergonovine")
cls("triptan", "Triptans", True, "sumatriptan,zolmitriptan,rizatriptan,naratriptan,almotriptan,frovatriptan,eletriptan")
cls("maoi-triptan-onc", "MAO inhibitors (ONC high-priority pair 31)", False, "tranylcypromine,phenelzine,isocarboxazid,methylene blue")
cls("ace-inhibitor", "ACE inhibitors", True, "benazepril,captopril,enalapril,fosinopril,lisinopril,perindopril,quinapril,ramipril,trandolapril,moexipril")
cls("arb", "Angiotensin II receptor blockers", True, "valsartan,telmisartan,losartan,irbesartan,azilsartan,olmesartan,candesartan,eprosartan")
cls("beta-blocker", "Beta-adrenergic blockers", True, "acebutolol,atenolol,betaxolol,bisoprolol,carteolol,carvedilol,esmolol,labetalol,metoprolol,nadolol,nebivolol,penbutolol,pindolol,propranolol,sotalol,timolol")
cls("thiazide", "Thiazide and thiazide-like diuretics", True, "bendroflumethiazide,chlorothiazide,hydrochlorothiazide,methyclothiazide,chlorthalidone,indapamide,metolazone")
cls("loop-diuretic", "Loop diuretics", True, "furosemide,bumetanide,torsemide")
cls("dhp-ccb", "Dihydropyridine calcium channel blockers", True, "amlodipine,felodipine,isradipine,nicardipine,nifedipine,nimodipine,nisoldipine")
cls("thyroid-hormone", "Thyroid hormones", True, "levothyroxine,liothyronine")
cls("calcium-salt", "Oral calcium salts", False, "calcium acetate,calcium carbonate,calcium citrate,calcium gluconate")
cls("nsaid", "Nonsteroidal anti-inflammatory drugs", True,
    "aspirin,celecoxib,diclofenac,diflunisal,etodolac,fenoprofen,flurbiprofen,ibuprofen,indomethacin,ketoprofen,ketorolac,meloxicam,nabumetone,naproxen,oxaprozin,piroxicam,salsalate,sulindac,tolmetin,meclofenamate,mefenamic acid")
cls("nsaid-nonaspirin", "NSAIDs other than low-dose aspirin", False,
    "celecoxib,diclofenac,diflunisal,etodolac,fenoprofen,flurbiprofen,ibuprofen,indomethacin,ketoprofen,ketorolac,meloxicam,nabumetone,naproxen,oxaprozin,piroxicam,salsalate,sulindac,tolmetin,meclofenamate,mefenamic acid")
cls("corticosteroid-systemic", "Systemic corticosteroids", True, "betamethasone,cortisone,dexamethasone,hydrocortisone,methylprednisolone,prednisolone,prednisone")
cls("corticosteroid-any", "Corticosteroids (any route)", False, "betamethasone,budesonide,cortisone,dexamethasone,hydrocortisone,methylprednisolone,prednisolone,prednisone,flunisolide,fluticasone,triamcinolone")
cls("macrolide-immunosuppressant", "Macrolide immunosuppressants", True, "tacrolimus,sirolimus,everolimus")
cls("antacid", "Antacids", False, "aluminum hydroxide,calcium carbonate,magnesium oxide,sodium bicarbonate")
cls("bisphosphonate", "Bisphosphonates", True, "etidronate,pamidronate,alendronate,ibandronate,risedronate,zoledronic acid")
cls("sulfonylurea", "Sulfonylureas", True, "chlorpropamide,tolbutamide,tolazamide,glipizide,glyburide,glimepiride")
cls("iron-salt", "Iron salts", True, "ferrous sulfate,ferrous gluconate,ferrous fumarate,iron sucrose,ferric carboxymaltose")
cls("anticoagulant", "Anticoagulants", True, "dalteparin,enoxaparin,fondaparinux,warfarin,dabigatran,apixaban,rivaroxaban,edoxaban,heparin,argatroban,bivalirudin")
cls("anticoagulant-onc-low", "Anticoagulants and antiplatelets as listed by ONC (non-interruptive list)", False,
    "dalteparin,enoxaparin,fondaparinux,warfarin,dipyridamole,dabigatran,apixaban,rivaroxaban,anagrelide,bivalirudin,argatroban,heparin")
cls("benzodiazepine", "Benzodiazepines", True, "alprazolam,chlordiazepoxide,clonazepam,clorazepate,diazepam,estazolam,flurazepam,lorazepam,midazolam,oxazepam,temazepam,triazolam")
cls("quinolone", "Fluoroquinolones", True, "ciprofloxacin,levofloxacin,moxifloxacin,ofloxacin,norfloxacin,gemifloxacin")
cls("zinc-salt", "Oral zinc salts", False, "zinc acetate,zinc sulfate,zinc gluconate")
cls("progestin-contraceptive", "Hormonal contraceptive progestins", False, "desogestrel,etonogestrel,levonorgestrel,medroxyprogesterone,norethindrone,norgestrel,norgestimate,drospirenone,norelgestromin,dienogest")
cls("anticholinesterase", "Anticholinesterases", False, "physostigmine,neostigmine,pyridostigmine,edrophonium")
cls("penicillin", "Penicillins", True, "amoxicillin,ampicillin,penicillin v,penicillin g,dicloxacillin,nafcillin,oxacillin,piperacillin")
cls("cephalosporin", "Cephalosporins", True, "cefadroxil,cephalexin,cefazolin,cefuroxime,cefprozil,cefaclor,cefdinir,cefpodoxime,cefixime,ceftriaxone,cefotaxime,ceftazidime,cefepime,ceftaroline,cefoxitin")
cls("carbapenem", "Carbapenems", True, "imipenem,meropenem,ertapenem,doripenem")
cls("sulfonamide-antibiotic", "Sulfonamide antibiotics", True, "sulfamethoxazole,sulfadiazine,sulfisoxazole,sulfacetamide")
cls("tetracycline", "Tetracyclines", True, "tetracycline,doxycycline,minocycline")
cls("antihistamine-h1", "H1 antihistamines (systemic)", True, "cetirizine,levocetirizine,loratadine,desloratadine,fexofenadine,diphenhydramine,chlorpheniramine,hydroxyzine,doxylamine,astemizole,terfenadine")
cls("h2-blocker", "H2 receptor antagonists", True, "cimetidine,famotidine,ranitidine,nizatidine")
cls("antiplatelet-p2y12", "P2Y12 antiplatelet agents", True, "clopidogrel,prasugrel,ticagrelor,ticlopidine")
cls("biguanide", "Biguanides", True, "metformin")
cls("dpp4-inhibitor", "DPP-4 inhibitors", True, "sitagliptin,saxagliptin,linagliptin,alogliptin")
cls("sglt2-inhibitor", "SGLT2 inhibitors", True, "canagliflozin,dapagliflozin,empagliflozin,ertugliflozin")
cls("glp1-agonist", "GLP-1 receptor agonists", True, "liraglutide,dulaglutide,exenatide,semaglutide,lixisenatide")
cls("gabapentinoid", "Gabapentinoids", True, "gabapentin,pregabalin")
cls("atypical-antipsychotic", "Second-generation antipsychotics", True, "aripiprazole,olanzapine,quetiapine,risperidone,ziprasidone,lurasidone,paliperidone,clozapine")
cls("z-hypnotic", "Nonbenzodiazepine hypnotics", True, "zolpidem,zaleplon,eszopiclone")
cls("muscle-relaxant", "Skeletal muscle relaxants", True, "cyclobenzaprine,methocarbamol,carisoprodol,metaxalone,tizanidine,baclofen")
cls("inhaled-corticosteroid", "Inhaled corticosteroids", False, "fluticasone,budesonide,beclomethasone,mometasone,ciclesonide")
cls("saba", "Short-acting beta-2 agonists", True, "albuterol,levalbuterol")
cls("alpha-blocker", "Alpha-1 blockers", True, "tamsulosin,doxazosin,terazosin,alfuzosin,prazosin,silodosin")
cls("five-ari", "5-alpha-reductase inhibitors", True, "finasteride,dutasteride")
cls("pde5-inhibitor", "PDE5 inhibitors", True, "sildenafil,tadalafil,vardenafil")
cls("nitrate", "Nitrates", False, "nitroglycerin,isosorbide mononitrate,isosorbide dinitrate")
cls("estrogen", "Estrogens", False, "estradiol,ethinyl estradiol,conjugated estrogens")
cls("antiepileptic", "Antiepileptics", False, "carbamazepine,lamotrigine,levetiracetam,topiramate,valproate,phenytoin,oxcarbazepine,lacosamide,zonisamide")
cls("leukotriene-modifier", "Leukotriene modifiers", True, "montelukast,zafirlukast,zileuton")

# Commonly prescribed US drugs outside the classes above (top-300 style list).
EXTRA = """acetaminophen,allopurinol,alteplase,epinephrine,nitrofurantoin,phenazopyridine,methotrexate,clavulanate,
dextromethorphan,hydroxychloroquine,spironolactone,bupropion,trazodone,mirtazapine,buspirone,lithium,donepezil,memantine,
clonidine,hydralazine,digoxin,isosorbide mononitrate,ezetimibe,fenofibrate,gemfibrozil,niacin,colchicine,febuxostat,
insulin glargine,insulin lispro,insulin aspart,pioglitazone,glipizide,ondansetron,promethazine,metoclopramide,famotidine,
sucralfate,dicyclomine,loperamide,docusate,senna,polyethylene glycol 3350,oxybutynin,tolterodine,solifenacin,mirabegron,
finasteride,valacyclovir,acyclovir,oseltamivir,fluconazole,terbinafine,metronidazole,clindamycin,trimethoprim,
sulfamethoxazole,vancomycin,linezolid,nystatin,mupirocin,triamcinolone,mometasone,tiotropium,ipratropium,
formoterol,salmeterol,montelukast,benzonatate,guaifenesin,pseudoephedrine,phenylephrine,cyclobenzaprine,
sumatriptan,topiramate,lamotrigine,levetiracetam,divalproex,phenytoin,ropinirole,pramipexole,carbidopa,levodopa,
amiodarone,flecainide,dofetilide,ranolazine,sacubitril,eplerenone,potassium chloride,magnesium oxide,cholecalciferol,
folic acid,cyanocobalamin,latanoprost,timolol,brimonidine,dorzolamide,tamoxifen,anastrozole,letrozole,
adalimumab,etanercept,hydroxyzine,meclizine,prochlorperazine,naloxone,naltrexone,buprenorphine,varenicline,
nicotine,medroxyprogesterone,progesterone,testosterone,raloxifene,estradiol,conjugated estrogens,
methylprednisolone,prednisolone,dexamethasone,budesonide,mesalamine,sulfasalazine,hydrocortisone,
nifedipine,verapamil,diltiazem,doxazosin,terazosin,prazosin,warfarin,apixaban,rivaroxaban,dabigatran,
clopidogrel,prasugrel,ticagrelor,aspirin,ibuprofen,naproxen,meloxicam,celecoxib,diclofenac,ketorolac,
oxycodone,hydrocodone,morphine,codeine,tramadol,gabapentin,pregabalin,baclofen,tizanidine,carisoprodol,
methocarbamol,alprazolam,lorazepam,clonazepam,diazepam,temazepam,zolpidem,eszopiclone,quetiapine,
olanzapine,risperidone,aripiprazole,haloperidol,lurasidone,ziprasidone,paliperidone,amphetamine,
methylphenidate,lisdexamfetamine,atomoxetine,guanfacine,doxycycline,minocycline,azithromycin,
cephalexin,cefdinir,cefuroxime,ceftriaxone,amoxicillin,ampicillin,penicillin v,dicloxacillin,levofloxacin,
ciprofloxacin,moxifloxacin,metformin,sitagliptin,linagliptin,empagliflozin,dapagliflozin,canagliflozin,
liraglutide,dulaglutide,semaglutide,glyburide,glimepiride,levothyroxine,liothyronine,methimazole,
propylthiouracil,alendronate,risedronate,ibandronate,calcitriol,ergocalciferol,furosemide,bumetanide,
torsemide,chlorthalidone,hydrochlorothiazide,triamterene,amiloride,metolazone,indapamide,losartan,
valsartan,irbesartan,olmesartan,telmisartan,candesartan,lisinopril,enalapril,ramipril,benazepril,
quinapril,captopril,fosinopril,amlodipine,felodipine,metoprolol,atenolol,carvedilol,propranolol,
bisoprolol,nebivolol,labetalol,nadolol,atorvastatin,simvastatin,rosuvastatin,pravastatin,lovastatin,
omeprazole,pantoprazole,esomeprazole,lansoprazole,rabeprazole,sertraline,fluoxetine,citalopram,
escitalopram,paroxetine,venlafaxine,duloxetine,desvenlafaxine,amitriptyline,nortriptyline,
cetirizine,loratadine,fexofenadine,levocetirizine,diphenhydramine,chlorpheniramine,fluticasone,
albuterol,levalbuterol,beclomethasone,clarithromycin,erythromycin,ketoconazole,itraconazole,
ethinyl estradiol,norethindrone,levonorgestrel,norgestimate,drospirenone,etonogestrel,norelgestromin,
dienogest,estradiol valerate,desogestrel,ferrous sulfate,nitroglycerin,atropine,astemizole,irinotecan,ramelteon,valproic acid,vitamin e""".replace("\n", "").split(",")

names = set()
for _, (_, _, members) in CLASSES.items():
    names.update(m.strip() for m in members)
names.update(e.strip() for e in EXTRA if e.strip())

ingredients = {}
unresolved = []
for n in sorted(names):
    code, how = ingredient_code(n)
    if not code:
        unresolved.append(n)
        continue
    ingredients[n] = code
# A code must name one ingredient only.
by_code = {}
for n, c in ingredients.items():
    by_code.setdefault(c, []).append(n)
dups = {c: ns for c, ns in by_code.items() if len(ns) > 1}

# ---------------------------------------------------------------- products
def parse_components(display):
    d = re.sub(r"\s*\[[^\]]*\]\s*$", "", display)  # brand suffix of an SBD
    if d.startswith("{"):
        return None
    comps = []
    for part in d.split(" / "):
        part = re.sub(r"^(\d+(\.\d+)?\s+(HR|ML|ACTUAT|DAY|MG|UNT|CM2)\s+)+", "", part.strip())
        words = []
        for w in part.split():
            if re.match(r"^\d", w):
                break
            words.append(w)
        if not words:
            return None
        comps.append(" ".join(words).lower())
    return comps

names_by_len = sorted(ingredients, key=len, reverse=True)
def match_ingredient(comp):
    for n in names_by_len:
        if comp == n or comp.startswith(n + " "):
            return n
    return None

products = {}
for code, disp in vsac_rx.items():
    if not re.search(r"\d+(\.\d+)?\s*(MG|MCG|UNT|ML|%|MEQ)", disp):
        continue
    comps = parse_components(disp)
    if not comps:
        continue
    ings = [match_ingredient(c) for c in comps]
    if any(i is None for i in ings):
        continue
    tty = "SBD" if disp.rstrip().endswith("]") else "SCD"
    products[code] = {"rxcui": code, "name": disp, "tty": tty,
                      "ingredients": sorted(set(ingredients[i] for i in ings))}

# Synthea v2.4 medication codes: names as they appear in the Synthea data (RxNorm names,
# a few of them SCDC, BN-pack or older names); ingredients by the Salus editors.
SYNTHEA = [
    ("313782", "Acetaminophen 325 MG Oral Tablet", "SCD", "acetaminophen"),
    ("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", "SCD", "amoxicillin,clavulanate"),
    ("316049", "Hydrochlorothiazide 25 MG", "SCDC", "hydrochlorothiazide"),
    ("316052", "Hydrochlorothiazide 6.25 MG", "SCDC", "hydrochlorothiazide"),
    ("849574", "Naproxen sodium 220 MG Oral Tablet", "SCD", "naproxen"),
    ("310965", "Ibuprofen 200 MG Oral Tablet", "SCD", "ibuprofen"),
    ("198405", "Ibuprofen 100 MG Oral Tablet", "SCD", "ibuprofen"),
    ("751905", "Trinessa 28 Day Pack", "BPCK", "ethinyl estradiol,norgestimate"),
    ("748856", "Yaz 28 Day Pack", "BPCK", "drospirenone,ethinyl estradiol"),
    ("1043400", "Acetaminophen 21.7 MG/ML / Dextromethorphan Hydrobromide 1 MG/ML / doxylamine succinate 0.417 MG/ML Oral Solution", "SCD", "acetaminophen,dextromethorphan,doxylamine"),
    ("282464", "Acetaminophen 160 MG Oral Tablet", "SCD", "acetaminophen"),
    ("748879", "Levora 0.15/30 28 Day Pack", "BPCK", "ethinyl estradiol,levonorgestrel"),
    ("1870230", "NDA020800 0.3 ML Epinephrine 1 MG/ML Auto-Injector", "SCD", "epinephrine"),
    ("978950", "Natazia 28 Day Pack", "BPCK", "dienogest,estradiol valerate"),
    ("757594", "Jolivette 28 Day Pack", "BPCK", "norethindrone"),
    ("389221", "Etonogestrel 68 MG Drug Implant", "SCD", "etonogestrel"),
    ("834061", "Penicillin V Potassium 250 MG Oral Tablet", "SCD", "penicillin v"),
    ("834102", "Penicillin V Potassium 500 MG Oral Tablet", "SCD", "penicillin v"),
    ("1153378", "Clonazepam [Klonopin]", "SBDC", "clonazepam"),
    ("1000126", "1 ML medroxyprogesterone acetate 150 MG/ML Injection", "SCD", "medroxyprogesterone"),
    ("705129", "Nitroglycerin 0.4 MG/ACTUAT Mucosal Spray", "SCD", "nitroglycerin"),
    ("309362", "Clopidogrel 75 MG Oral Tablet", "SCD", "clopidogrel"),
    ("861467", "Meperidine Hydrochloride 50 MG Oral Tablet", "SCD", "meperidine"),
    ("308971", "Carbamazepine[Tegretol]", "SBDC", "carbamazepine"),
    ("749762", "Seasonique 91 Day Pack", "BPCK", "ethinyl estradiol,levonorgestrel"),
    ("308182", "Amoxicillin 250 MG Oral Capsule", "SCD", "amoxicillin"),
    ("1367439", "NuvaRing 0.12/0.015 MG per 24HR 21 Day Vaginal Ring", "SBD", "ethinyl estradiol,etonogestrel"),
    ("665078", "Loratadine 5 MG Chewable Tablet", "SCD", "loratadine"),
    ("748962", "Camila 28 Day Pack", "BPCK", "norethindrone"),
    ("198014", "Naproxen 500 MG Oral Tablet", "SCD", "naproxen"),
    ("563026", "Diazepam [Valium]", "SBDC", "diazepam"),
    ("904419", "Alendronic acid 10 MG Oral Tablet", "SCD", "alendronate"),
    ("106258", "Hydrocortisone 10 MG/ML Topical Cream", "SCD", "hydrocortisone"),
    ("477045", "Chlorpheniramine Maleate 2 MG/ML Oral Solution", "SCD", "chlorpheniramine"),
    ("312961", "Simvastatin 20 MG Oral Tablet", "SCD", "simvastatin"),
    ("197361", "Amlodipine 5 MG Oral Tablet", "SCD", "amlodipine"),
    ("311989", "Nitrofurantoin 5 MG/ML Oral Suspension", "SCD", "nitrofurantoin"),
    ("1094107", "Phenazopyridine hydrochloride 100 MG Oral Tablet", "SCD", "phenazopyridine"),
    ("831533", "Errin 28 Day Pack", "BPCK", "norethindrone"),
    ("105586", "Methotrexate 10 MG Oral Tablet", "SCD", "methotrexate"),
    ("310325", "ferrous sulfate 325 MG Oral Tablet", "SCD", "ferrous sulfate"),
    ("807283", "Mirena 52 MG Intrauterine System", "SBD", "levonorgestrel"),
    ("895994", "120 ACTUAT Fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler", "SCD", "fluticasone"),
    ("745679", "200 ACTUAT Albuterol 0.09 MG/ACTUAT Metered Dose Inhaler", "SCD", "albuterol"),
    ("197319", "Allopurinol 100 MG Oral Tablet", "SCD", "allopurinol"),
    ("243670", "Aspirin 81 MG Oral Tablet", "SCD", "aspirin"),
    ("997501", "Fexofenadine hydrochloride 60 MG Oral Tablet", "SCD", "fexofenadine"),
    ("1804799", "Alteplase 100 MG Injection", "SCD", "alteplase"),
    ("197378", "Astemizole 10 MG Oral Tablet", "SCD", "astemizole"),
    ("311995", "NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule", "SCD", "nitrofurantoin"),
    ("1049221", "Acetaminophen 325 MG / oxyCODONE Hydrochloride 5 MG Oral Tablet", "SCD", "acetaminophen,oxycodone"),
    ("1049630", "diphenhydrAMINE Hydrochloride 25 MG Oral Tablet", "SCD", "diphenhydramine"),
    ("860975", "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet", "SCD", "metformin"),
    ("1660014", "1 ML Epinephrine 1 MG/ML Injection", "SCD", "epinephrine"),
    ("834357", "3 ML Amiodarone hydrocholoride 50 MG/ML Prefilled Syringe", "SCD", "amiodarone"),
    ("1190795", "Atropine Sulfate 1 MG/ML Injectable Solution", "SCD", "atropine"),
    ("311372", "Loratadine 10 MG Oral Tablet", "SCD", "loratadine"),
    ("1605257", "Liletta 52 MG Intrauterine System", "SBD", "levonorgestrel"),
    ("1000156", "0.65 ML medroxyprogesterone acetate 160 MG/ML Prefilled Syringe", "SCD", "medroxyprogesterone"),
    ("896209", "60 ACTUAT Fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler", "SCD", "fluticasone,salmeterol"),
    ("259255", "Atorvastatin 80 MG Oral Tablet", "SCD", "atorvastatin"),
    ("833036", "Captopril 25 MG Oral Tablet", "SCD", "captopril"),
    ("312617", "predniSONE 5 MG Oral Tablet", "SCD", "prednisone"),
    ("1014676", "cetirizine hydrochloride 5 MG Oral Tablet", "SCD", "cetirizine"),
    ("1534809", "168 HR Ethinyl Estradiol 0.00146 MG/HR / norelgestromin 0.00625 MG/HR Transdermal System", "SCD", "ethinyl estradiol,norelgestromin"),
    ("316672", "Simvistatin 10 MG", "SCDC", "simvastatin"),
    ("309097", "Cefuroxime 250 MG Oral Tablet", "SCD", "cefuroxime"),
]
missing_syn = []
for code, disp, tty, ings in SYNTHEA:
    codes = []
    for i in ings.split(","):
        if i not in ingredients:
            missing_syn.append((code, i))
        else:
            codes.append(ingredients[i])
    prev = products.get(code)
    products[code] = {"rxcui": code, "name": prev["name"] if prev else disp, "tty": tty,
                      "ingredients": sorted(set(codes)), "seen_in": "Synthea 2.4 sample data"}

# ---------------------------------------------------------------- output
classes_of = {}
for cid, (_, _, members) in CLASSES.items():
    for m in members:
        m = m.strip()
        if m in ingredients:
            classes_of.setdefault(m, []).append(cid)

drugs = OrderedDict()
drugs["source"] = ("RxNorm (U.S. National Library of Medicine). Ingredient and product codes as published in "
                   "VSAC value-set expansions (eCQM content 2021 and 2024) and the FDA UNII-RxNorm mapping of "
                   "2014-04-04; Synthea 2.4 sample-data codes. Drug classes: Salus editors, after WHO ATC level 4, "
                   "Phansalkar S et al. JAMIA 2012;19(5):735-43 and JAMIA 2013;20(3):489-93.")
drugs["version"] = "2025-01"
drugs["classes"] = [OrderedDict(id=cid, name=n, duplicate_therapy=dup,
                                members=sorted(ingredients[m.strip()] for m in mem if m.strip() in ingredients))
                    for cid, (n, dup, mem) in CLASSES.items()]
drugs["ingredients"] = [OrderedDict(rxcui=c, name=n, classes=classes_of.get(n, []))
                        for n, c in sorted(ingredients.items())]
drugs["products"] = [OrderedDict(rxcui=p["rxcui"], name=p["name"], tty=p["tty"], ingredients=p["ingredients"])
                     for p in sorted(products.values(), key=lambda p: p["name"].lower())]
json.dump(drugs, open(f"{out_dir}/drugs.json", "w"), indent=1, ensure_ascii=False)
json.dump({"ingredients": ingredients}, open("/tmp/ingredients_by_name.json", "w"))
print("ingredients", len(ingredients), "products", len(products), file=sys.stderr)
print("unresolved", unresolved, file=sys.stderr)
print("duplicate codes", dups, file=sys.stderr)
print("synthea missing", missing_syn, file=sys.stderr)

# ---------------------------------------------------------------- interactions
def side(names):
    out = []
    for n in names.split(","):
        n = n.strip()
        if n in ingredients:
            out.append(OrderedDict(rxcui=ingredients[n], name=n))
    return out

HIGH = [
 (3, "Amphetamine derivatives", "dexmethylphenidate,dextroamphetamine,methylphenidate,lisdexamfetamine,methamphetamine,phendimetrazine,pseudoephedrine,amphetamine,benzphetamine,diethylpropion,phentermine,atomoxetine", "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,procarbazine,selegiline", "Risk of hypertensive crisis."),
 (4, "Atazanavir", "atazanavir", "Proton pump inhibitors", "omeprazole,lansoprazole,pantoprazole,rabeprazole,esomeprazole", "Proton pump inhibitors markedly reduce atazanavir absorption and exposure."),
 (6, "Febuxostat", "febuxostat", "Thiopurines", "azathioprine,mercaptopurine", "Xanthine oxidase inhibition raises thiopurine levels: risk of bone-marrow suppression."),
 (8, "SSRIs and SNRIs", "fluoxetine,paroxetine,citalopram,escitalopram,sertraline,fluvoxamine,duloxetine,nefazodone,desvenlafaxine,milnacipran,venlafaxine", "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,procarbazine,selegiline", "Risk of serotonin syndrome."),
 (11, "Irinotecan", "irinotecan", "Strong CYP3A4 inhibitors", "ritonavir,nelfinavir,atazanavir,indinavir,saquinavir,amprenavir,darunavir,lopinavir,tipranavir,fosamprenavir,clarithromycin,erythromycin,telithromycin,amiodarone,verapamil,diltiazem,ketoconazole,itraconazole,fluconazole,voriconazole,nefazodone,aprepitant,cimetidine", "CYP3A4 inhibition increases exposure to irinotecan and its active metabolite: severe toxicity."),
 (16, "Narcotic analgesics", "meperidine,methadone,tapentadol,fentanyl,tramadol,dextromethorphan", "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,selegiline,procarbazine", "Risk of serotonin syndrome and severe CNS reactions."),
 (20, "Tricyclic antidepressants", "amitriptyline,clomipramine,desipramine,doxepin,imipramine,nortriptyline,protriptyline,trimipramine", "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,selegiline,procarbazine", "Risk of serotonin syndrome and hypertensive crisis."),
 (22, "Ramelteon", "ramelteon", "CYP1A2 inhibitors", "fluvoxamine,amiodarone,ticlopidine,ciprofloxacin", "CYP1A2 inhibition greatly increases ramelteon exposure."),
 (23, "Protease inhibitors", "ritonavir,amprenavir,atazanavir,darunavir,fosamprenavir,indinavir,lopinavir,nelfinavir,saquinavir,tipranavir", "Strong CYP3A4 inducers", "bosentan,rifapentine,carbamazepine,rifabutin,rifampin,st. john's wort", "CYP3A4 induction lowers protease-inhibitor levels: loss of virologic response and resistance."),
 (25, "Simvastatin and lovastatin", "simvastatin,lovastatin", "Strong CYP3A4 inhibitors", "saquinavir,tipranavir,ritonavir,nelfinavir,atazanavir,amprenavir,darunavir,lopinavir,indinavir,clarithromycin,erythromycin,telithromycin,amiodarone,verapamil,diltiazem,ketoconazole,itraconazole,fluconazole,voriconazole,nefazodone", "CYP3A4 inhibition raises statin levels: risk of myopathy and rhabdomyolysis."),
 (27, "Ergot alkaloids", "ergotamine,methylergonovine,dihydroergotamine,ergonovine", "Strong CYP3A4 inhibitors", "indinavir,saquinavir,tipranavir,ritonavir,nelfinavir,atazanavir,amprenavir,darunavir,lopinavir,clarithromycin,erythromycin,telithromycin,ketoconazole,itraconazole,voriconazole", "CYP3A4 inhibition raises ergot levels: risk of ergotism and vasospastic ischemia."),
 (28, "Tizanidine", "tizanidine", "CYP1A2 inhibitors", "ciprofloxacin,fluvoxamine,mexiletine,propafenone,zileuton,amiodarone,ticlopidine", "CYP1A2 inhibition raises tizanidine levels: hypotension and excessive sedation."),
 (30, "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,selegiline,rasagiline", "Procarbazine", "procarbazine", "Additive MAO inhibition: risk of hypertensive crisis."),
 (31, "Triptans", "sumatriptan,zolmitriptan,rizatriptan", "MAO inhibitors", "tranylcypromine,phenelzine,isocarboxazid,methylene blue", "MAO-A inhibition raises triptan levels: risk of serotonin syndrome."),
]
QT = CLASSES["qt-known-risk"][2]
high = OrderedDict()
high["source"] = ("Phansalkar S, Desai AA, Bell D, et al. High-priority drug-drug interactions for use in electronic "
                  "health records. J Am Med Inform Assoc. 2012;19(5):735-43. doi:10.1136/amiajnl-2011-000612. "
                  "Drug lists as tabulated by dbmi-pitt/public-PDDI-analysis (ONC High Priority List, Table 2); "
                  "QT drugs: CredibleMeds known-risk list used there. RxNorm ingredient codes as in drugs.json.")
high["url"] = "https://doi.org/10.1136/amiajnl-2011-000612"
high["version"] = "2012"
high["severity"] = "high"
pairs = []
for num, an, a, bn, b, msg in HIGH:
    pairs.append(OrderedDict(id=f"onc-high-{num}", onc_number=num, object_class=an, object=side(a),
                             precipitant_class=bn, precipitant=side(b), message=msg))
pairs.insert(7, OrderedDict(id="onc-high-21", onc_number=21, object_class="QT-prolonging agents", object=side(",".join(QT)),
                            precipitant_class="QT-prolonging agents", precipitant=side(",".join(QT)),
                            message="Two QT-prolonging drugs together: additive QT prolongation, risk of torsades de pointes."))
high["pairs"] = pairs
json.dump(high, open(f"{out_dir}/interactions-onc-high.json", "w"), indent=1, ensure_ascii=False)

ACE="benazepril,captopril,enalapril,fosinopril,lisinopril,perindopril,quinapril,ramipril,trandolapril,moexipril"
STAT="simvastatin,atorvastatin,fluvastatin,lovastatin,pravastatin,rosuvastatin,pitavastatin"
BB="acebutolol,atenolol,betaxolol,bisoprolol,carteolol,carvedilol,esmolol,labetalol,metoprolol,nadolol,nebivolol,penbutolol,pindolol,propranolol,sotalol,timolol"
SSRI="citalopram,escitalopram,fluoxetine,fluvoxamine,paroxetine,sertraline"
THZ="chlorothiazide,hydrochlorothiazide,methyclothiazide,bendroflumethiazide"
THY="levothyroxine,liothyronine"
CA="calcium acetate,calcium carbonate,calcium citrate,calcium gluconate"
NSAID="aspirin,celecoxib,diclofenac,diflunisal,etodolac,fenoprofen,flurbiprofen,ibuprofen,indomethacin,ketoprofen,ketorolac,meloxicam,nabumetone,naproxen,oxaprozin,piroxicam,salsalate,sulindac,tolmetin,meclofenamate,mefenamic acid"
CS="betamethasone,budesonide,cortisone,dexamethasone,hydrocortisone,methylprednisolone,prednisolone,prednisone,flunisolide,fluticasone,triamcinolone"
CSO="cortisone,dexamethasone,hydrocortisone,methylprednisolone,prednisolone,prednisone"
AC="dalteparin,enoxaparin,fondaparinux,warfarin,dipyridamole,dabigatran,apixaban,rivaroxaban,anagrelide,bivalirudin,argatroban,heparin"
PPI="omeprazole,lansoprazole,pantoprazole,rabeprazole,esomeprazole"
IRON="ferrous sulfate,ferrous gluconate,ferrous fumarate,iron sucrose,ferric carboxymaltose"
ANTAC="aluminum hydroxide,calcium carbonate,magnesium oxide,sodium bicarbonate"
LOW = [
 (2, "Niacin", "niacin", "Statins", STAT),
 (3, "Beta-blockers", BB, "SSRIs", SSRI),
 (4, "Iron salts", IRON, "Proton pump inhibitors", PPI),
 (5, "Thiazide diuretics", THZ, "ACE inhibitors", ACE),
 (6, "Thyroid hormones", THY, "Calcium salts", CA),
 (7, "Thyroid hormones", THY, "Statins", STAT),
 (8, "Thiazide diuretics", THZ, "NSAIDs", NSAID),
 (9, "Beta-blockers", BB, "Thyroid hormones", THY),
 (10, "Macrolide immunosuppressants", "tacrolimus,sirolimus,everolimus", "Corticosteroids", CS),
 (11, "Antacids", ANTAC, "Oral corticosteroids", CSO),
 (12, "Bisphosphonates", "etidronate,pamidronate,alendronate,ibandronate,risedronate,zoledronic acid", "Calcium salts", CA),
 (13, "Vitamin B12", "cyanocobalamin", "Omeprazole", "omeprazole"),
 (14, "Folic acid", "folic acid", "Methotrexate", "methotrexate"),
 (15, "Sulfonylureas", "chlorpropamide,tolbutamide,tolazamide,glipizide,glyburide,glimepiride", "ACE inhibitors", ACE),
 (16, "Iron salts", IRON, "Thyroid hormones", THY),
 (17, "Anticoagulants", AC, "Corticosteroids", CS),
 (18, "Anticoagulants", AC, "Acetaminophen", "acetaminophen"),
 (19, "Antacids", ANTAC, "Oral iron salts", "ferrous sulfate,ferrous gluconate,ferrous fumarate"),
 (20, "Anticoagulants", AC, "Proton pump inhibitors", PPI),
 (21, "Proton pump inhibitors", PPI, "Imidazole antifungals", "clotrimazole,econazole,ketoconazole,miconazole,oxiconazole,sulconazole,tioconazole"),
 (22, "Beta-blockers", BB, "Calcium salts", CA),
 (23, "ACE inhibitors", ACE, "Angiotensin II receptor blockers", "valsartan,telmisartan,losartan,irbesartan,azilsartan,olmesartan,candesartan,eprosartan"),
 (24, "Anticoagulants", AC, "Statins", STAT),
 (25, "Omeprazole", "omeprazole", "Benzodiazepines", "alprazolam,chlordiazepoxide,clonazepam,clorazepate,diazepam,estazolam,flurazepam,lorazepam,midazolam,oxazepam,temazepam"),
 (26, "Anticoagulants", AC, "Vitamin E", "vitamin e"),
 (27, "Oral zinc salts", "zinc acetate,zinc sulfate,zinc gluconate", "Fluoroquinolones", "ciprofloxacin,norfloxacin,ofloxacin,levofloxacin,gemifloxacin,moxifloxacin"),
 (28, "NSAIDs", NSAID, "Beta-blockers", BB),
 (29, "Clopidogrel", "clopidogrel", "Salicylates", "aspirin,salsalate"),
 (30, "Hormonal contraceptives", "desogestrel,etonogestrel,levonorgestrel,medroxyprogesterone,norethindrone,norgestrel", "Corticosteroids", CS),
 (31, "Beta-blockers", BB, "Dihydropyridine calcium channel blockers", "amlodipine,felodipine,isradipine,nicardipine,nifedipine,nimodipine,nisoldipine"),
 (32, "Corticosteroids", CS, "Anticholinesterases", "physostigmine,neostigmine,pyridostigmine,edrophonium"),
 (33, "ACE inhibitors", ACE, "NSAIDs", NSAID),
]
low = OrderedDict()
low["source"] = ("Phansalkar S, van der Sijs H, Tucker AD, et al. Drug-drug interactions that should be non-interruptive "
                 "in order to reduce alert fatigue in electronic health records. J Am Med Inform Assoc. 2013;20(3):489-93. "
                 "doi:10.1136/amiajnl-2012-001089. Drug lists as tabulated by dbmi-pitt/public-PDDI-analysis "
                 "(ONC Non-interruptive List); RxNorm ingredient codes as in drugs.json.")
low["url"] = "https://doi.org/10.1136/amiajnl-2012-001089"
low["version"] = "2013"
low["severity"] = "low"
low["pairs"] = [OrderedDict(id=f"onc-low-{n}", onc_number=n, object_class=an, object=side(a), precipitant_class=bn,
                            precipitant=side(b), message=f"{an} with {bn.lower() if bn[1:2].islower() else bn}: "
                            "known interaction, usually managed without changing therapy (non-interruptive).")
                for n, an, a, bn, b in LOW]
json.dump(low, open(f"{out_dir}/interactions-onc-low.json", "w"), indent=1, ensure_ascii=False)
for pr in pairs + low["pairs"]:
    if not pr["object"] or not pr["precipitant"]:
        print("EMPTY SIDE", pr["id"], file=sys.stderr)

# ---------------------------------------------------------------- allergen groups
def codes_of(names):
    return sorted(ingredients[n] for n in names.split(",") if n in ingredients)
SCT = "http://snomed.info/sct"
GROUPS = [
 ("penicillin", "Penicillins", codes_of(",".join(CLASSES["penicillin"][2])),
  [("373270004", "Substance with penicillin structure and antibacterial mechanism of action (substance)"),
   ("91936005", "Allergy to penicillin (finding)")],
  [("cephalosporin", "moderate", "Cross-sensitivity between penicillins and cephalosporins is uncommon (about 1-2%) but documented; use with caution.")]),
 ("cephalosporin", "Cephalosporins", codes_of(",".join(CLASSES["cephalosporin"][2])),
  [("373262009", "Substance with cephalosporin structure and antibacterial mechanism of action (substance)"),
   ("372889003", "First generation cephalosporin (substance)")],
  [("penicillin", "moderate", "Cross-sensitivity between cephalosporins and penicillins is uncommon but documented; use with caution.")]),
 ("beta-lactam", "Beta-lactam antibiotics", codes_of(",".join(CLASSES["penicillin"][2] + CLASSES["cephalosporin"][2] + CLASSES["carbapenem"][2])),
  [("373297006", "Substance with beta-lactam structure and antibacterial mechanism of action (substance)")], []),
 ("carbapenem", "Carbapenems", codes_of(",".join(CLASSES["carbapenem"][2])),
  [("396345004", "Carbapenem (substance)")], []),
 ("sulfonamide-antibiotic", "Sulfonamide antibiotics", codes_of(",".join(CLASSES["sulfonamide-antibiotic"][2])),
  [("387406002", "Sulfonamide (substance)")], []),
 ("nsaid", "Nonsteroidal anti-inflammatory drugs (including aspirin)", codes_of(",".join(CLASSES["nsaid"][2])),
  [("372665008", "Non-steroidal anti-inflammatory agent (substance)"),
   ("293586001", "Allergy to aspirin (finding)")], []),
 ("salicylate", "Salicylates", codes_of("aspirin,salsalate,diflunisal"),
  [("255637000", "Salicylate (substance)")],
  [("nsaid", "moderate", "Aspirin/salicylate hypersensitivity often extends to other NSAIDs (COX-1 cross-reactivity).")]),
 ("macrolide", "Macrolide antibiotics", codes_of(",".join(CLASSES["macrolide"][2])),
  [("372480009", "Substance with macrolide structure and antibacterial mechanism of action (substance)")], []),
 ("quinolone", "Fluoroquinolones", codes_of(",".join(CLASSES["quinolone"][2])),
  [("372722000", "Substance with quinolone structure and antibacterial mechanism of action (substance)")], []),
 ("tetracycline", "Tetracyclines", codes_of(",".join(CLASSES["tetracycline"][2])),
  [("373206009", "Substance with tetracycline structure and antibacterial mechanism of action (substance)")], []),
 ("sulfonylurea", "Sulfonylureas", codes_of(",".join(CLASSES["sulfonylurea"][2])),
  [("372711004", "Sulfonylurea (substance)")], []),
 ("opioid", "Opioid agonists", codes_of(",".join(CLASSES["opioid"][2])),
  [("404642006", "Substance with opioid receptor agonist mechanism of action (substance)")], []),
 ("statin", "Statins", codes_of(",".join(CLASSES["statin"][2])), [], []),
 ("ace-inhibitor", "ACE inhibitors", codes_of(",".join(CLASSES["ace-inhibitor"][2])), [], []),
 ("beta-blocker", "Beta-adrenergic blockers", codes_of(",".join(CLASSES["beta-blocker"][2])),
  [("293962009", "Allergy to beta adrenergic receptor antagonist (finding)"),
   ("293963004", "Allergy to beta-1 adrenergic receptor antagonist (finding)")], []),
]
# Ingredient-specific SNOMED allergy findings (VSAC "Allergy to Beta Blocker Therapy", "Allergy to thrombolytics").
FINDINGS = [("293964005", "acebutolol"), ("293965006", "atenolol"), ("293966007", "betaxolol"), ("293967003", "bisoprolol"),
            ("293969000", "esmolol"), ("293970004", "metoprolol"), ("293972007", "nadolol"), ("293973002", "pindolol"),
            ("293974008", "carvedilol"), ("293976005", "carteolol"), ("293977001", "labetalol"), ("293980000", "penbutolol"),
            ("293982008", "propranolol"), ("293983003", "sotalol"), ("293984009", "timolol"), ("295110005", "alteplase")]
al = OrderedDict()
al["source"] = ("Allergen groups: Salus editors after WHO ATC classes and the drug classes in drugs.json. SNOMED CT codes "
                "from the VSAC value sets 'US Core Common substances for allergy and intolerance documentation including "
                "refutations' (2.16.840.1.113762.1.4.1186.8), 'Allergy to Beta Blocker Therapy' and 'Allergy to thrombolytics'; "
                "91936005 and 293586001 (SNOMED CT allergy findings to penicillin and aspirin). Cross-sensitivity notes: "
                "Joint Task Force on Practice Parameters, Drug allergy: a 2022 practice parameter update (J Allergy Clin Immunol 2022;150:1333-93).")
al["version"] = "2025-01"
al["groups"] = [OrderedDict(id=g, name=n, ingredients=ing, snomed=[OrderedDict(code=c, display=d) for c, d in sn],
                            cross_reactive=[OrderedDict(group=x, severity=sev, message=m) for x, sev, m in cr])
                for g, n, ing, sn, cr in GROUPS]
al["snomed_ingredients"] = [OrderedDict(code=c, ingredient=ingredients[n], name=n) for c, n in FINDINGS if n in ingredients]
json.dump(al, open(f"{out_dir}/allergens.json", "w"), indent=1, ensure_ascii=False)
