#!/usr/bin/env python3
"""Regenerates data/preventive-rules.json.

Code lists come from VSAC value-set expansions (OIDs named per list) as published in the
cqframework eCQM content packages; only SNOMED CT, LOINC, CVX and ICD-10-CM codes are kept
(no CPT/HCPCS: licence). A few codes used by Synthea are added by hand and marked so.
Usage: gen_preventive.py VSETS_JSON OUT_DIR
"""
import json, sys
from collections import OrderedDict as O

vsets_path, out_dir = sys.argv[1:3]
KEEP = {"http://snomed.info/sct", "http://loinc.org", "http://hl7.org/fhir/sid/cvx", "http://hl7.org/fhir/sid/icd-10-cm"}
by_oid = {}
for v in json.load(open(vsets_path)):
    if v["url"]:
        oid = v["url"].rstrip("/").split("/")[-1]
        if oid not in by_oid or len(v["codes"]) > len(by_oid[oid]["codes"]):
            by_oid[oid] = v

def vs(oid, only=None):
    v = by_oid[oid]
    codes = [O(system=s, code=c, display=d) for s, c, d in v["codes"] if s in KEEP and (only is None or c in only)]
    return O(value_set=f"urn:oid:{oid}", value_set_name=v["name"], value_set_version=v["version"] or "", codes=codes)

def extra(*items):
    return O(value_set="", value_set_name="Salus additions (codes seen in Synthea 2.4 data or LOINC/CVX names)", value_set_version="",
             codes=[O(system=s, code=c, display=d) for s, c, d in items])

LOINC, SCT, CVX = "http://loinc.org", "http://snomed.info/sct", "http://hl7.org/fhir/sid/cvx"

def ev(name, interval_months, resources, lists, min_age=None, doses=1):
    codes, sources = [], []
    for l in lists:
        sources.append(O(value_set=l["value_set"], name=l["value_set_name"], version=l["value_set_version"]))
        codes.extend(l["codes"])
    seen, uniq = set(), []
    for c in codes:
        k = (c["system"], c["code"])
        if k not in seen:
            seen.add(k); uniq.append(c)
    e = O(name=name, interval_months=interval_months, resources=resources, codes=uniq, code_sources=sources)
    if min_age is not None:
        e["min_age_at_evidence"] = min_age
    if doses != 1:
        e["doses"] = doses
    return e

def excl(name, resources, lists):
    e = ev(name, None, resources, lists)
    del e["interval_months"]
    return e

OBS = ["Observation", "DiagnosticReport", "Procedure"]
PROC = ["Procedure", "Observation", "DiagnosticReport"]
HIST = ["Procedure", "Condition", "Observation"]
COND = ["Condition"]
IMM = ["Immunization"]

USPSTF = "U.S. Preventive Services Task Force"
rules = [
 O(id="breast-cancer-screening", title="Breast cancer screening (mammography)",
   source=O(author="USPSTF", publisher=USPSTF, grade="B", version_date="2024-04-30",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/breast-cancer-screening",
            citation="Screening for Breast Cancer: US Preventive Services Task Force Recommendation Statement. JAMA 2024;331(22):1918-1930."),
   eligibility=O(sex="female", min_age=40, max_age=74),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("Mammography", 24, OBS + ["ImagingStudy"], [vs("2.16.840.1.113883.3.464.1003.108.12.1018")])],
   exclusions=[excl("Bilateral mastectomy", HIST, [vs("2.16.840.1.113883.3.464.1003.198.12.1005"), vs("2.16.840.1.113883.3.464.1003.198.12.1068")])]),
 O(id="cervical-cancer-screening", title="Cervical cancer screening (cytology every 3 years; HPV testing every 5 years from 30)",
   source=O(author="USPSTF", publisher=USPSTF, grade="A", version_date="2018-08-21",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/cervical-cancer-screening",
            citation="Screening for Cervical Cancer: US Preventive Services Task Force Recommendation Statement. JAMA 2018;320(7):674-686."),
   eligibility=O(sex="female", min_age=21, max_age=65),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("Cervical cytology (Pap test)", 36, OBS, [vs("2.16.840.1.113883.3.464.1003.108.12.1017")]),
             ev("High-risk HPV test", 60, OBS, [vs("2.16.840.1.113883.3.464.1003.110.12.1059")], min_age=30)],
   exclusions=[excl("Hysterectomy with no residual cervix", HIST, [vs("2.16.840.1.113883.3.464.1003.198.12.1014")])]),
 O(id="colorectal-cancer-screening", title="Colorectal cancer screening",
   source=O(author="USPSTF", publisher=USPSTF, grade="A (50-75), B (45-49)", version_date="2021-05-18",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/colorectal-cancer-screening",
            citation="Screening for Colorectal Cancer: US Preventive Services Task Force Recommendation Statement. JAMA 2021;325(19):1965-1977."),
   eligibility=O(min_age=45, max_age=75),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("Fecal immunochemical / occult blood test", 12, OBS, [vs("2.16.840.1.113883.3.464.1003.198.12.1011")]),
             ev("Stool DNA with FIT (FIT-DNA)", 36, OBS, [vs("2.16.840.1.113883.3.464.1003.108.12.1039")]),
             ev("CT colonography", 60, OBS + ["ImagingStudy"], [vs("2.16.840.1.113883.3.464.1003.108.12.1038")]),
             ev("Flexible sigmoidoscopy", 60, PROC, [vs("2.16.840.1.113883.3.464.1003.198.12.1010")]),
             ev("Colonoscopy", 120, PROC, [vs("2.16.840.1.113883.3.464.1003.108.12.1020")])],
   exclusions=[excl("Total colectomy", HIST, [vs("2.16.840.1.113883.3.464.1003.198.12.1019")]),
               excl("Colorectal cancer", COND, [vs("2.16.840.1.113883.3.464.1003.108.12.1001")])]),
 O(id="blood-pressure-screening", title="Hypertension screening (blood pressure measurement)",
   source=O(author="USPSTF", publisher=USPSTF, grade="A", version_date="2021-04-27",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/hypertension-in-adults-screening",
            citation="Screening for Hypertension in Adults: US Preventive Services Task Force Reaffirmation Recommendation Statement. JAMA 2021;325(16):1650-1656. Annual screening from 40 (and for those at increased risk), every 3-5 years for 18-39; Salus uses 3 years for 18-39."),
   eligibility=O(min_age=18),
   schedule=O(kind="interval", grace_days=90, interval_months_by_age=[O(min_age=18, max_age=39, interval_months=36)]),
   evidence=[ev("Blood pressure measurement", 12, ["Observation"],
                [vs("2.16.840.1.113762.1.4.1045.163"),
                 extra((LOINC, "55284-4", "Blood pressure systolic and diastolic"), (LOINC, "85354-9", "Blood pressure panel with all children optional"),
                       (LOINC, "8462-4", "Diastolic blood pressure"))])],
   exclusions=[excl("Diagnosed hypertension", COND, [vs("2.16.840.1.113762.1.4.1047.514",
                    only={"38341003", "31992008", "48146000", "56218007", "443482000"})])]),
 O(id="diabetes-screening", title="Prediabetes and type 2 diabetes screening (adults 35-70 with overweight or obesity)",
   source=O(author="USPSTF", publisher=USPSTF, grade="B", version_date="2021-08-24",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-for-prediabetes-and-type-2-diabetes",
            citation="Screening for Prediabetes and Type 2 Diabetes: US Preventive Services Task Force Recommendation Statement. JAMA 2021;326(8):736-743. Rescreening every 3 years."),
   eligibility=O(min_age=35, max_age=70, min_bmi=25,
                 bmi_codes=[O(system=LOINC, code="39156-5", display="Body mass index (BMI) [Ratio]")],
                 overweight_conditions=[O(system=SCT, code="162864005", display="Body mass index 30+ - obesity (finding)"),
                                        O(system=SCT, code="414916001", display="Obesity (disorder)")]),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("HbA1c or plasma glucose test", 36, OBS, [vs("2.16.840.1.113883.3.464.1003.198.12.1013"), vs("2.16.840.1.113762.1.4.1045.134")])],
   exclusions=[excl("Diagnosed diabetes", COND, [vs("2.16.840.1.113883.3.464.1003.103.12.1001")])]),
 O(id="depression-screening", title="Depression screening",
   source=O(author="USPSTF", publisher=USPSTF, grade="B", version_date="2023-06-20",
            url="https://www.uspreventiveservicestaskforce.org/uspstf/recommendation/screening-depression-suicide-risk-adults",
            citation="Screening for Depression and Suicide Risk in Adults: USPSTF Recommendation Statement. JAMA 2023;329(23):2057-2067; adolescents 12-18: JAMA 2022;328(15):1534-1542. Interval not set by USPSTF; Salus uses yearly as CMS2."),
   eligibility=O(min_age=12),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("Depression screening instrument", 12, OBS,
                [extra((LOINC, "73831-0", "Adult depression screening assessment"), (LOINC, "73832-8", "Adolescent depression screening assessment"),
                       (LOINC, "44249-1", "PHQ-9 quick depression assessment panel"), (LOINC, "44261-6", "Patient Health Questionnaire 9 item (PHQ-9) total score"),
                       (LOINC, "55757-9", "Patient Health Questionnaire 2 item (PHQ-2) [Reported]"), (LOINC, "55758-7", "Patient Health Questionnaire 2 item (PHQ-2) total score"),
                       (SCT, "171207006", "Depression screening (procedure)"))])],
   exclusions=[excl("Bipolar disorder", COND, [vs("2.16.840.1.113883.3.600.450")]),
               excl("Diagnosed depression", COND, [vs("2.16.840.1.113883.3.600.145")])]),
 O(id="influenza-vaccine", title="Influenza vaccine, every season",
   source=O(author="CDC/ACIP", publisher="Centers for Disease Control and Prevention", grade="Routine (ACIP)", version_date="2024-11-21",
            url="https://www.cdc.gov/vaccines/hcp/imz-schedules/adult-age.html",
            citation="Recommended Adult Immunization Schedule for ages 19 years or older, United States, 2025 (ACIP). Season taken as 1 August - 31 July; overdue from 1 November."),
   eligibility=O(min_age=19),
   schedule=O(kind="season", season_start_month=8, grace_days=92),
   evidence=[ev("Influenza vaccine", None, IMM, [vs("2.16.840.1.113883.3.526.3.1254"), vs("2.16.840.1.113883.3.464.1003.110.12.1087")])],
   exclusions=[]),
 O(id="td-tdap-vaccine", title="Td or Tdap booster every 10 years",
   source=O(author="CDC/ACIP", publisher="Centers for Disease Control and Prevention", grade="Routine (ACIP)", version_date="2024-11-21",
            url="https://www.cdc.gov/vaccines/hcp/imz-schedules/adult-age.html",
            citation="Recommended Adult Immunization Schedule for ages 19 years or older, United States, 2025 (ACIP)."),
   eligibility=O(min_age=19),
   schedule=O(kind="interval", grace_days=90),
   evidence=[ev("Td or Tdap vaccine", 120, IMM,
                [extra((CVX, "09", "tetanus and diphtheria toxoids, adsorbed, preservative free, for adult use (2 Lf of tetanus toxoid and 2 Lf of diphtheria toxoid)"),
                       (CVX, "113", "tetanus and diphtheria toxoids, adsorbed, preservative free, for adult use (5 Lf of tetanus toxoid and 2 Lf of diphtheria toxoid)"),
                       (CVX, "115", "tetanus toxoid, reduced diphtheria toxoid, and acellular pertussis vaccine, adsorbed"),
                       (CVX, "138", "tetanus and diphtheria toxoids, not adsorbed, for adult use"),
                       (CVX, "139", "Td(adult) unspecified formulation"))])],
   exclusions=[]),
 O(id="zoster-vaccine", title="Recombinant zoster vaccine (2 doses) from age 50",
   source=O(author="CDC/ACIP", publisher="Centers for Disease Control and Prevention", grade="Routine (ACIP)", version_date="2024-11-21",
            url="https://www.cdc.gov/vaccines/hcp/imz-schedules/adult-age.html",
            citation="Recommended Adult Immunization Schedule for ages 19 years or older, United States, 2025 (ACIP): RZV 2 doses, also for those who had zoster vaccine live."),
   eligibility=O(min_age=50),
   schedule=O(kind="series", grace_days=90),
   evidence=[ev("Recombinant zoster vaccine", None, IMM, [extra((CVX, "187", "zoster vaccine recombinant"))], doses=2)],
   exclusions=[]),
 O(id="pneumococcal-vaccine", title="Pneumococcal vaccination at 65 or older",
   source=O(author="CDC/ACIP", publisher="Centers for Disease Control and Prevention", grade="Routine (ACIP)", version_date="2024-11-21",
            url="https://www.cdc.gov/vaccines/hcp/imz-schedules/adult-age.html",
            citation="Recommended Adult Immunization Schedule for ages 19 years or older, United States, 2025 (ACIP): PCV20 alone, or PCV15 followed by PPSV23; earlier PCV13 + PPSV23 at 65 or older counts as complete. Salus applies it from 65 (the 2025 schedule lowers the age to 50)."),
   eligibility=O(min_age=65),
   schedule=O(kind="series", grace_days=90,
              complete_when=[["pcv20"], ["pcv15", "ppsv23-65"], ["pcv13", "ppsv23-65"]]),
   evidence=[ev("PCV20", None, IMM, [extra((CVX, "216", "Pneumococcal conjugate vaccine 20-valent (PCV20), polysaccharide CRM197 conjugate, adjuvant, preservative free"))]),
             ev("PCV15", None, IMM, [extra((CVX, "215", "Pneumococcal conjugate vaccine 15-valent (PCV15), polysaccharide CRM197 conjugate, adjuvant, preservative free"))]),
             ev("PCV13", None, IMM, [extra((CVX, "133", "pneumococcal conjugate vaccine, 13 valent"))]),
             ev("PPSV23 at 65 or older", None, IMM, [extra((CVX, "33", "pneumococcal polysaccharide vaccine, 23 valent"))], min_age=65)],
   exclusions=[]),
]
for r in rules:
    for i, e in enumerate(r["evidence"]):
        e["id"] = {"PCV20": "pcv20", "PCV15": "pcv15", "PCV13": "pcv13", "PPSV23 at 65 or older": "ppsv23-65"}.get(e["name"], f"e{i}")
out = O(source="USPSTF A and B recommendations and the CDC/ACIP adult immunization schedule; code lists from VSAC (NLM) eCQM value sets.",
        version="2025-01", rules=rules)
json.dump(out, open(f"{out_dir}/preventive-rules.json", "w"), indent=1, ensure_ascii=False)
for r in rules:
    print(r["id"], [len(e["codes"]) for e in r["evidence"]], [len(x["codes"]) for x in r["exclusions"]], file=sys.stderr)
