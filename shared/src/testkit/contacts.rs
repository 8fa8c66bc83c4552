//! Generated contact files for import tests and the import benchmark.

use std::fmt::Write;

/// A CSV of `rows` distinct, valid US numbers (area code 415, from exchange 200 on, offset by
/// `first`) written in four different styles, with a name, a `city` attribute and tags
/// `imported;batch-<n>`.
pub fn generated_csv(rows: usize, first: usize) -> String {
    let mut out = String::with_capacity(rows * 64 + 32);
    out.push_str("phone,name,city,tags\n");
    for i in first..first + rows {
        let n = 2_000_000 + i;
        let (exchange, line) = (n / 10_000, n % 10_000);
        let _ = match i % 4 {
            0 => writeln!(out, "+1 (415) {exchange:03}-{line:04},Person {i},City {},imported;batch-{}", i % 97, i % 10),
            1 => writeln!(out, "1415{exchange:03}{line:04},Person {i},City {},imported;batch-{}", i % 97, i % 10),
            2 => writeln!(
                out,
                "001 415.{exchange:03}.{line:04},\"Person, {i}\",City {},imported;batch-{}",
                i % 97,
                i % 10
            ),
            _ => writeln!(out, "+1-415-{exchange:03}-{line:04},Person {i},,imported",),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_generated_row_is_valid_and_distinct() {
        let csv = super::generated_csv(2000, 0);
        let mut seen = std::collections::HashSet::new();
        crate::domain::contacts::import_rows::read_csv(csv.as_bytes(), None, |r| {
            let data = r.data.expect("valid row");
            assert!(seen.insert(data.phone.as_str().to_owned()));
            true
        })
        .unwrap();
        assert_eq!(seen.len(), 2000);
    }
}
