//! The languages carebank writes words for people in: English, and Chinese for the village and
//! the district's forms.

/// A language for headers, labels and sentences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// English headers, English item names.
    En,
    /// Chinese headers and item names (for the district's forms).
    Zh,
}

/// A language code that is neither `en` nor `zh`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the language must be en or zh, not {0:?}")]
pub struct UnknownLang(pub String);

impl std::str::FromStr for Lang {
    type Err = UnknownLang;

    fn from_str(code: &str) -> Result<Lang, UnknownLang> {
        match code {
            "en" => Ok(Lang::En),
            "zh" => Ok(Lang::Zh),
            other => Err(UnknownLang(other.to_string())),
        }
    }
}

impl Lang {
    /// `en` in English, `zh` in Chinese.
    pub fn pick<'a>(self, en: &'a str, zh: &'a str) -> &'a str {
        match self {
            Lang::En => en,
            Lang::Zh => zh,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_en_and_zh_only() {
        assert_eq!("en".parse(), Ok(Lang::En));
        assert_eq!("zh".parse(), Ok(Lang::Zh));
        assert!("fr".parse::<Lang>().is_err());
    }
}
