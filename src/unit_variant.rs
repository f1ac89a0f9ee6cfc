//! `Deserialize` for an enum of unit variants, by the names its derived `Serialize` writes
//! ([`deserialize_by_name!`]). The derive expands its variant matching for every
//! deserializer the enum is read through (the stored session's text, its tagged phases'
//! buffered values, the request bodies' field-naming reader, …): about 5 KB of the edge
//! wasm for each of these small enums. Here the matching is one function per deserializer,
//! shared by every enum; what is accepted and refused, and the errors' words ("unknown
//! variant `x`, expected one of …"), are the derive's for a JSON string. (The derive also
//! read `{"name": null}`; nothing writes that.)

use serde::de::{Error, Visitor};
use serde::Deserializer;

/// The position of the name `deserializer` holds in `names`.
pub(crate) fn index<'de, D: Deserializer<'de>>(
    deserializer: D,
    expecting: &'static str,
    names: &'static [&'static str],
) -> Result<usize, D::Error> {
    deserializer.deserialize_str(ByName { expecting, names })
}

struct ByName {
    expecting: &'static str,
    names: &'static [&'static str],
}

impl Visitor<'_> for ByName {
    type Value = usize;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_str<E: Error>(self, name: &str) -> Result<usize, E> {
        self.names
            .iter()
            .position(|n| *n == name)
            .ok_or_else(|| E::unknown_variant(name, self.names))
    }
}

/// `impl Deserialize for $ty`, each variant read from its name (the one its derived
/// `Serialize` writes). Every variant must be listed: a missing one does not compile. The
/// same list is the tests' (`tests::Every`), so each variant is read back by
/// `tests::reads_back` with no second list to keep.
macro_rules! deserialize_by_name {
    ($ty:ident { $($variant:ident = $name:literal),+ $(,)? }) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<$ty, D::Error> {
                const NAMES: &[&str] = &[$($name),+];
                const VARIANTS: &[$ty] = &[$($ty::$variant),+];
                let index = $crate::unit_variant::index(
                    deserializer,
                    concat!("enum ", stringify!($ty)),
                    NAMES,
                )?;
                Ok(VARIANTS[index])
            }
        }
        const _: fn($ty) = |every| match every {
            $($ty::$variant)|+ => {}
        };
        #[cfg(test)]
        impl $crate::unit_variant::tests::Every for $ty {
            const EVERY: &'static [$ty] = &[$($ty::$variant),+];
            const NAME: &'static str = stringify!($ty);
        }
    };
}
pub(crate) use deserialize_by_name;

#[cfg(test)]
pub(crate) mod tests {
    use crate::emv::TransStatus;
    use crate::payment::{
        CaptureMode, ChallengePreference, DisplayMode, Exemption, PaymentStatus, ProviderKind,
    };
    use serde::de::DeserializeOwned;
    use serde::Serialize;

    /// An enum read by [`deserialize_by_name!`]: its variants as the macro lists them, and
    /// its name.
    pub(crate) trait Every: Sized + 'static {
        const EVERY: &'static [Self];
        const NAME: &'static str;
    }

    /// Each variant of `T` reads back from what it writes, from text and through a tagged
    /// enum's buffer; an unknown name and another type are refused with the derive's words.
    pub(crate) fn reads_back<
        T: Every + Serialize + DeserializeOwned + PartialEq + std::fmt::Debug + Copy,
    >() {
        let name = T::NAME;
        for &variant in T::EVERY {
            let text = serde_json::to_string(&variant).unwrap();
            assert_eq!(serde_json::from_str::<T>(&text).unwrap(), variant, "{text}");
            let value = serde_json::to_value(variant).unwrap();
            assert_eq!(serde_json::from_value::<T>(value.clone()).unwrap(), variant);
            #[derive(serde::Deserialize)]
            #[serde(tag = "kind")]
            enum Tagged<T> {
                Holder { inner: T },
            }
            let Tagged::Holder { inner } = serde_json::from_value::<Tagged<T>>(
                serde_json::json!({"kind": "Holder", "inner": value}),
            )
            .unwrap();
            assert_eq!(inner, variant);
        }
        let unknown = serde_json::from_str::<T>("\"levitating\"")
            .unwrap_err()
            .to_string();
        assert!(
            unknown.starts_with("unknown variant `levitating`, expected `")
                || unknown.starts_with("unknown variant `levitating`, expected one of `"),
            "{unknown}"
        );
        let wrong = serde_json::from_str::<T>("5").unwrap_err().to_string();
        assert!(
            wrong.starts_with(&format!("invalid type: integer `5`, expected enum {name}")),
            "{wrong}"
        );
    }

    #[test]
    fn every_variant_reads_back_by_its_name() {
        reads_back::<TransStatus>();
        reads_back::<Exemption>();
        reads_back::<ChallengePreference>();
        reads_back::<CaptureMode>();
        reads_back::<DisplayMode>();
        reads_back::<ProviderKind>();
        reads_back::<PaymentStatus>();
        assert_eq!(
            serde_json::from_str::<Exemption>("\"low_value\"").unwrap(),
            Exemption::LowValue
        );
    }

    #[test]
    fn codes_kinds_brands_and_form_words_read_back_by_their_names() {
        use crate::emv::challenge::CReqType;
        use crate::emv::{
            CardBrand, FormMethod, Generation, LiabilityShift, MessageVersion, PaResStatus,
            ThreeDsCompInd,
        };
        use crate::payment::{Canceller, ResultCode};
        use crate::provider::http::HttpMethod;
        use crate::provider::lifecycle::OperationCall;
        use crate::provider::lifecycle::{OperationErrorCode as Op, OperationKind};
        reads_back::<ResultCode>();
        reads_back::<Op>();
        for code in [Op::Unsupported, Op::AmountTooLarge] {
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
        }
        reads_back::<OperationKind>();
        reads_back::<CardBrand>();
        reads_back::<ThreeDsCompInd>();
        reads_back::<FormMethod>();
        reads_back::<PaResStatus>();
        reads_back::<MessageVersion>();
        reads_back::<Generation>();
        reads_back::<LiabilityShift>();
        reads_back::<Canceller>();
        reads_back::<HttpMethod>();
        reads_back::<OperationCall>();
        assert_eq!(
            serde_json::from_str::<MessageVersion>("\"2.2.0\"").unwrap(),
            MessageVersion::V2_2_0
        );
        reads_back::<CReqType>();
        assert_eq!(
            serde_json::from_str::<CardBrand>("\"unionpay\"").unwrap(),
            CardBrand::UnionPay
        );
    }
}
