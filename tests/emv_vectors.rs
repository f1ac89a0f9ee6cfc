//! The EMV spec vectors of tests/vectors/, run natively by `cargo test` and in headless
//! Chromium by the wasm suite (the same files, compiled in with `include_str!`).

use serde_json::{json, Value};
use threeds_bridge::emv::{
    base64url, BrowserDetails, BrowserLanguage, BrowserReadings, CardBrand, ChallengeWindowSize,
    ColorDepth, Eci, EmvError, Generation, LiabilityShift, MessageVersion, ServerReadings,
    TransStatus,
};

#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

macro_rules! vector_test {
    ($name:ident, $body:block) => {
        #[cfg_attr(not(target_arch = "wasm32"), test)]
        #[cfg_attr(target_arch = "wasm32", wasm_bindgen_test::wasm_bindgen_test)]
        fn $name() $body
    };
}

fn vectors(text: &str) -> Value {
    serde_json::from_str(text).expect("vector file is JSON")
}

fn code<T: std::fmt::Debug>(result: Result<T, EmvError>) -> String {
    match result {
        Ok(value) => format!("ok: {value:?}"),
        Err(error) => error.code().to_owned(),
    }
}

vector_test!(browser_details_per_version_and_provider, {
    let file = vectors(include_str!("vectors/browser_details.json"));
    for case in file["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let page: BrowserReadings = serde_json::from_value(case["page"].clone()).unwrap();
        let server: ServerReadings = serde_json::from_value(case["server"].clone()).unwrap();
        let built = BrowserDetails::build(&page, &server);
        if let Some(expected) = case.get("build_error") {
            assert_eq!(code(built), expected.as_str().unwrap(), "{name}");
            continue;
        }
        let details = built.unwrap_or_else(|e| panic!("{name}: {e}"));
        for (shape, expected) in case["expect"].as_object().unwrap() {
            let produced = match shape.as_str() {
                "paysafe" => details
                    .to_paysafe()
                    .map(|v| serde_json::to_value(v).unwrap()),
                "bambora" => details
                    .to_bambora()
                    .map(|v| serde_json::to_value(v).unwrap()),
                version => details
                    .to_areq(MessageVersion::parse(version).unwrap())
                    .map(|v| serde_json::to_value(v).unwrap()),
            };
            match expected.get("error") {
                Some(error) => {
                    assert_eq!(code(produced), error.as_str().unwrap(), "{name} / {shape}")
                }
                None => assert_eq!(
                    produced.unwrap_or_else(|e| panic!("{name} / {shape}: {e}")),
                    *expected,
                    "{name} / {shape}"
                ),
            }
        }
    }
});

vector_test!(color_depth_rounds_down, {
    let file = vectors(include_str!("vectors/color_depth.json"));
    for case in file["cases"].as_array().unwrap() {
        let reading = case["reading"].as_i64();
        let sent = ColorDepth::from_reading(reading).bits();
        assert_eq!(
            u64::from(sent),
            case["sent"].as_u64().unwrap(),
            "reading {reading:?}"
        );
    }
});

vector_test!(language_tags_fit_eight_characters, {
    let file = vectors(include_str!("vectors/language.json"));
    for case in file["cases"].as_array().unwrap() {
        let input = case["input"].as_str().unwrap();
        let result = BrowserLanguage::parse(input);
        match case.get("sent") {
            Some(sent) => assert_eq!(result.unwrap().as_str(), sent.as_str().unwrap(), "{input}"),
            None => assert_eq!(code(result), case["error"].as_str().unwrap(), "{input}"),
        }
    }
    for case in file["accept_language"].as_array().unwrap() {
        let header = case["header"].as_str().unwrap();
        let sent: Vec<String> = BrowserLanguage::from_accept_language(header)
            .into_iter()
            .map(String::from)
            .collect();
        assert_eq!(json!(sent), case["sent"], "{header}");
    }
});

vector_test!(base64url_round_trips_unicode, {
    let file = vectors(include_str!("vectors/base64url.json"));
    for case in file["round_trip"].as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let encoded = case["encoded"].as_str().unwrap();
        assert_eq!(base64url::encode(text), encoded, "{text}");
        assert_eq!(base64url::decode_utf8(encoded).unwrap(), text, "{encoded}");
    }
    for case in file["decode_only"].as_array().unwrap() {
        let decoded = base64url::decode_utf8(case["encoded"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, case["text"].as_str().unwrap());
    }
    for bad in file["invalid"].as_array().unwrap() {
        let bad = bad.as_str().unwrap();
        assert_eq!(code(base64url::decode(bad)), "invalid_base64url", "{bad}");
    }
});

vector_test!(challenge_window_sizes_and_fit, {
    let file = vectors(include_str!("vectors/window_sizes.json"));
    for case in file["sizes"].as_array().unwrap() {
        let size = ChallengeWindowSize::parse(case["code"].as_str().unwrap()).unwrap();
        let expected = case["width"]
            .as_u64()
            .map(|w| (w as u32, case["height"].as_u64().unwrap() as u32));
        assert_eq!(size.pixels(), expected, "{size:?}");
        assert_eq!(size.as_str(), case["code"].as_str().unwrap());
    }
    for bad in file["invalid"].as_array().unwrap() {
        assert_eq!(
            code(ChallengeWindowSize::parse(bad.as_str().unwrap())),
            "invalid_challenge_window_size"
        );
    }
    for case in file["fit"].as_array().unwrap() {
        let (w, h) = (
            case["container"][0].as_u64().unwrap() as u32,
            case["container"][1].as_u64().unwrap() as u32,
        );
        assert_eq!(
            ChallengeWindowSize::largest_fitting(w, h).as_str(),
            case["chosen"].as_str().unwrap(),
            "{w}x{h}"
        );
    }
});

vector_test!(card_brand_and_luhn, {
    let file = vectors(include_str!("vectors/cards.json"));
    for case in file["cases"].as_array().unwrap() {
        let pan = case["pan"].as_str().unwrap();
        let brand: CardBrand = serde_json::from_value(case["brand"].clone()).unwrap();
        assert_eq!(CardBrand::from_pan(pan), brand, "{pan}");
        assert_eq!(
            threeds_bridge::emv::luhn_valid(pan),
            case["luhn"].as_bool().unwrap(),
            "{pan}"
        );
    }
});

vector_test!(eci_and_liability_shift, {
    let file = vectors(include_str!("vectors/outcomes.json"));
    let brand = |v: &Value| serde_json::from_value::<CardBrand>(v.clone()).unwrap();
    let status = |v: &Value| TransStatus::parse(v.as_str().unwrap()).unwrap();
    for case in file["eci_for_outcome"].as_array().unwrap() {
        let eci = Eci::for_outcome(brand(&case["brand"]), status(&case["transStatus"]));
        assert_eq!(
            eci.map(|e| e.as_two_digits()),
            case["eci"].as_str().map(str::to_owned),
            "{case}"
        );
    }
    for case in file["liability"].as_array().unwrap() {
        let eci = case["eci"].as_str().map(|e| Eci::parse(e).unwrap());
        let generation: Generation = serde_json::from_value(case["generation"].clone()).unwrap();
        let decision = LiabilityShift::decide(
            brand(&case["brand"]),
            status(&case["transStatus"]),
            eci,
            generation,
        );
        assert_eq!(
            decision.is_shifted(),
            case["shifted"].as_bool().unwrap(),
            "{case}"
        );
    }
    let statuses = &file["trans_status"];
    let permitted: Vec<&str> = statuses["permits_authorization"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for valid in statuses["valid"].as_array().unwrap() {
        let text = valid.as_str().unwrap();
        let parsed = TransStatus::parse(text).unwrap();
        assert_eq!(parsed.as_str(), text);
        assert_eq!(
            parsed.permits_authorization(),
            permitted.contains(&text),
            "{text}"
        );
    }
    for invalid in statuses["invalid"].as_array().unwrap() {
        assert_eq!(
            code(TransStatus::parse(invalid.as_str().unwrap())),
            "invalid_trans_status"
        );
    }
    for case in file["eci_parse"].as_array().unwrap() {
        let result = Eci::parse(case["input"].as_str().unwrap());
        match case.get("value") {
            Some(value) => assert_eq!(u64::from(result.unwrap().value()), value.as_u64().unwrap()),
            None => assert_eq!(code(result), case["error"].as_str().unwrap(), "{case}"),
        }
    }
});

#[cfg(feature = "json")]
vector_test!(creq_method_data_and_cres, {
    use threeds_bridge::emv::{CReq, ChallengeOutcome, ThreeDsMethodData};
    let file = vectors(include_str!("vectors/challenge.json"));
    let creq: CReq = serde_json::from_value(file["creq"]["value"].clone()).unwrap();
    assert_eq!(
        creq.to_base64url(),
        file["creq"]["encoded"].as_str().unwrap()
    );
    assert_eq!(CReq::from_base64url(&creq.to_base64url()).unwrap(), creq);
    for case in file["creq_invalid"].as_array().unwrap() {
        let result = CReq::from_base64url(case["encoded"].as_str().unwrap());
        assert_eq!(
            code(result),
            case["error"].as_str().unwrap(),
            "{}",
            case["name"]
        );
    }
    let method: ThreeDsMethodData =
        serde_json::from_value(file["method_data"]["value"].clone()).unwrap();
    assert_eq!(
        method.to_base64url(),
        file["method_data"]["encoded"].as_str().unwrap()
    );
    assert_eq!(
        ThreeDsMethodData::from_base64url(&method.to_base64url()).unwrap(),
        method
    );
    for case in file["cres"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let outcome = ChallengeOutcome::from_base64url(case["cres"].as_str().unwrap());
        let expect = &case["expect"];
        match (outcome, expect) {
            (Ok(ChallengeOutcome::Completed(cres)), e) if e.get("completed").is_some() => {
                assert_eq!(
                    cres.trans_status.as_str(),
                    e["completed"]["transStatus"].as_str().unwrap(),
                    "{name}"
                );
                assert_eq!(
                    cres.acs_trans_id,
                    e["completed"]["acsTransID"].as_str().unwrap(),
                    "{name}"
                );
            }
            (Ok(ChallengeOutcome::Failed(erro)), e) if e.get("erro").is_some() => {
                assert_eq!(
                    erro.error_code,
                    e["erro"]["errorCode"].as_str().unwrap(),
                    "{name}"
                );
            }
            (Err(error), e) if e.get("error").is_some() => {
                assert_eq!(error.code(), e["error"].as_str().unwrap(), "{name}");
            }
            (other, e) => panic!("{name}: got {other:?}, expected {e}"),
        }
    }
});
