//! The embedded knowledge files, parsed once. Each file names its source and version in its
//! header fields; those travel with every finding and card built from it.

use crate::ClinicalError;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

const DRUGS: &str = include_str!("../data/drugs.json");
const HIGH: &str = include_str!("../data/interactions-onc-high.json");
const LOW: &str = include_str!("../data/interactions-onc-low.json");
const ALLERGENS: &str = include_str!("../data/allergens.json");
pub(crate) const PREVENTIVE: &str = include_str!("../data/preventive-rules.json");

#[derive(Debug, Deserialize)]
pub struct DrugClass {
    pub id: String,
    pub name: String,
    pub duplicate_therapy: bool,
    pub members: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Ingredient {
    pub rxcui: String,
    pub name: String,
    pub classes: Vec<String>,
}

#[derive(Debug, Deserialize)]
pub struct Product {
    pub rxcui: String,
    pub name: String,
    pub tty: String,
    pub ingredients: Vec<String>,
}

#[derive(Debug, Deserialize)]
struct DrugsFile {
    source: String,
    version: String,
    classes: Vec<DrugClass>,
    ingredients: Vec<Ingredient>,
    products: Vec<Product>,
}

#[derive(Debug, Deserialize)]
pub struct SideDrug {
    pub rxcui: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct InteractionPair {
    pub id: String,
    pub onc_number: u32,
    pub object_class: String,
    pub object: Vec<SideDrug>,
    pub precipitant_class: String,
    pub precipitant: Vec<SideDrug>,
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct InteractionList {
    pub source: String,
    pub url: String,
    pub version: String,
    pub severity: String,
    pub pairs: Vec<InteractionPair>,
}

#[derive(Debug, Deserialize)]
pub struct SnomedCode {
    pub code: String,
    pub display: String,
}

#[derive(Debug, Deserialize)]
pub struct CrossReaction {
    pub group: String,
    pub severity: String,
    pub message: String,
}

#[derive(Debug, Deserialize)]
pub struct AllergenGroup {
    pub id: String,
    pub name: String,
    pub ingredients: Vec<String>,
    pub snomed: Vec<SnomedCode>,
    pub cross_reactive: Vec<CrossReaction>,
}

#[derive(Debug, Deserialize)]
pub struct SnomedIngredient {
    pub code: String,
    pub ingredient: String,
    pub name: String,
}

#[derive(Debug, Deserialize)]
pub struct AllergenFile {
    pub source: String,
    pub version: String,
    pub groups: Vec<AllergenGroup>,
    pub snomed_ingredients: Vec<SnomedIngredient>,
}

/// All medication knowledge, indexed for lookup.
#[derive(Debug)]
pub struct Knowledge {
    pub drugs_source: String,
    pub drugs_version: String,
    pub classes: Vec<DrugClass>,
    pub ingredients: HashMap<String, Ingredient>,
    pub products: HashMap<String, Product>,
    /// Ingredient names (lower case) to RxCUI, longest names first, for matching free text.
    pub names_longest_first: Vec<(String, String)>,
    pub high: InteractionList,
    pub low: InteractionList,
    pub allergens: AllergenFile,
    pub qt_class: HashSet<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(file: &'static str, text: &str) -> Result<T, ClinicalError> {
    serde_json::from_str(text).map_err(|e| ClinicalError::Knowledge { file, message: e.to_string() })
}

impl Knowledge {
    fn load() -> Result<Knowledge, ClinicalError> {
        let drugs: DrugsFile = parse("drugs.json", DRUGS)?;
        let high: InteractionList = parse("interactions-onc-high.json", HIGH)?;
        let low: InteractionList = parse("interactions-onc-low.json", LOW)?;
        let allergens: AllergenFile = parse("allergens.json", ALLERGENS)?;
        let mut names_longest_first: Vec<(String, String)> =
            drugs.ingredients.iter().map(|i| (i.name.to_lowercase(), i.rxcui.clone())).collect();
        names_longest_first.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        let qt_class = drugs
            .classes
            .iter()
            .find(|c| c.id == "qt-known-risk")
            .map(|c| c.members.iter().cloned().collect())
            .unwrap_or_default();
        Ok(Knowledge {
            drugs_source: drugs.source,
            drugs_version: drugs.version,
            ingredients: drugs.ingredients.into_iter().map(|i| (i.rxcui.clone(), i)).collect(),
            products: drugs.products.into_iter().map(|p| (p.rxcui.clone(), p)).collect(),
            classes: drugs.classes,
            names_longest_first,
            high,
            low,
            allergens,
            qt_class,
        })
    }

    pub fn ingredient_name(&self, rxcui: &str) -> String {
        self.ingredients.get(rxcui).map(|i| i.name.clone()).unwrap_or_else(|| format!("RxCUI {rxcui}"))
    }

    pub fn class(&self, id: &str) -> Option<&DrugClass> {
        self.classes.iter().find(|c| c.id == id)
    }
}

/// The medication knowledge, parsed on first use.
pub fn knowledge() -> Result<&'static Knowledge, ClinicalError> {
    static CELL: OnceLock<Result<Knowledge, String>> = OnceLock::new();
    match CELL.get_or_init(|| Knowledge::load().map_err(|e| e.to_string())) {
        Ok(k) => Ok(k),
        Err(message) => Err(ClinicalError::Knowledge { file: "medication knowledge", message: message.clone() }),
    }
}
