//! Closed sets of rule-file keywords (mask kinds, amount units, coordinate systems): each set
//! lists its spellings once; lookups by name and back come from that list.

/// A value written in rule files by one of a fixed set of names.
pub trait Keyword: Copy + PartialEq + Sized + 'static {
    /// Every value with its rule-file name.
    const ALL: &'static [(&'static str, Self)];

    /// The value called `name`.
    fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
    }

    /// Its rule-file name.
    fn name(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(_, v)| *v == self)
            .map_or("", |(n, _)| n)
    }

    /// Every rule-file name, in order.
    fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|(n, _)| *n).collect()
    }
}
