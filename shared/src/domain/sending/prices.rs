//! What a message costs in prepaid credits, by Meta's pricing category. Configured at the edge
//! (`config::prices_from_env`, `MIPING_PRICES="marketing=0.80,utility=0.12,authentication=0.12,service=0"`).

use std::collections::HashMap;

use crate::domain::money::Money;

#[derive(Clone, Debug, PartialEq)]
pub struct PriceTable(HashMap<String, Money>);

impl Default for PriceTable {
    fn default() -> Self {
        Self::parse("marketing=0.80,utility=0.12,authentication=0.12,service=0").expect("default prices parse")
    }
}

impl PriceTable {
    pub fn parse(spec: &str) -> Result<Self, String> {
        let mut prices = HashMap::new();
        for pair in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (category, price) = pair.split_once('=').ok_or_else(|| format!("`{pair}` is not category=price"))?;
            let price: Money = price.trim().parse().map_err(|e| format!("{category}: {e:?}"))?;
            prices.insert(category.trim().to_ascii_lowercase(), price);
        }
        Ok(Self(prices))
    }

    /// The price of one message of `category` (unknown categories cost what marketing costs:
    /// never undercharge by accident).
    pub fn price(&self, category: &str) -> Money {
        self.0
            .get(&category.to_ascii_lowercase())
            .or_else(|| self.0.get("marketing"))
            .copied()
            .unwrap_or_else(|| Money::from_units(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prices() {
        let t = PriceTable::parse("marketing=0.7846, utility=0.115,service=0").unwrap();
        assert_eq!(t.price("MARKETING"), "0.7846".parse().unwrap());
        assert_eq!(t.price("utility"), "0.115".parse().unwrap());
        assert_eq!(t.price("service"), Money::from_units(0));
        assert_eq!(t.price("authentication"), "0.7846".parse().unwrap());
        assert!(PriceTable::parse("marketing").is_err());
        assert!(PriceTable::parse("marketing=abc").is_err());
    }
}
