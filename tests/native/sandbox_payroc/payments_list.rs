//! The payments list, what reconciliation looks a lost sale up with: filters, cursors,
//! problems, faults and the recorded envelope.

use super::recorded::{assert_subshape, vector};
use super::*;

async fn list(running: &RunningSandbox, bearer: &str, query: &str) -> (StatusCode, String, Value) {
    get_url(
        &format!("{}/payroc/api/v1/payments?{query}", running.url),
        bearer,
    )
    .await
}

async fn get_url(url: &str, bearer: &str) -> (StatusCode, String, Value) {
    let response = browser()
        .get(url)
        .bearer_auth(bearer)
        .send()
        .await
        .expect("get");
    let status = response.status();
    let kind = content_type(&response);
    (status, kind, response.json().await.unwrap_or(Value::Null))
}

/// A sale for `order` (the MPI run for `pan` first); returns the payment.
async fn sold(
    running: &RunningSandbox,
    bearer: &str,
    pan: &str,
    order: &str,
    amount: i64,
) -> Value {
    let (token, query) = authenticated(running, bearer, pan, order, amount).await;
    let body = sale_body(&token, order, amount, &query["mpiReference"]);
    let (status, _, payment) = post_json(running, "/payments", bearer, Some(&key()), &body).await;
    assert_eq!(status, StatusCode::CREATED, "{payment}");
    payment
}

fn ids(page: &Value) -> Vec<String> {
    page["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|p| p["paymentId"].as_str().expect("paymentId").to_owned())
        .collect()
}

fn link<'a>(page: &'a Value, rel: &str) -> Option<&'a str> {
    page["links"]
        .as_array()?
        .iter()
        .find(|l| l["rel"] == rel)
        .and_then(|l| l["href"].as_str())
}

#[tokio::test]
async fn the_payments_list_filters_by_order_and_terminal() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let approved = sold(&running, &bearer, "4000000000001000", "LIST-A", 4999).await;
    let declined = sold(&running, &bearer, "4000000000004004", "LIST-B", 1500).await;
    assert_eq!(declined["transactionResult"]["status"], "declined");

    let (status, kind, page) = list(
        &running,
        &bearer,
        &format!("processingTerminalId={SANDBOX_TERMINAL}&orderId=LIST-A"),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(kind, "application/json");
    assert_eq!(
        (&page["limit"], &page["count"], &page["hasMore"]),
        (&json!(10), &json!(1), &json!(false))
    );
    assert_eq!(
        page["data"][0], approved,
        "the payment as the sale answered it"
    );
    assert!(page.get("links").is_none(), "one page: no links: {page}");

    // A decline is a payment too; an order nobody paid is an empty page, not a 404.
    let (_, _, page) = list(&running, &bearer, "orderId=LIST-B").await;
    assert_eq!(ids(&page), [declined["paymentId"].as_str().unwrap()]);
    let (status, _, page) = list(&running, &bearer, "orderId=NEVER-PAID").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((&page["count"], &page["data"]), (&json!(0), &json!([])));

    // Other filters.
    let (_, _, page) = list(&running, &bearer, "status=declined").await;
    assert_eq!(ids(&page), [declined["paymentId"].as_str().unwrap()]);
    let (_, _, page) = list(&running, &bearer, "first6=400000&last4=1000").await;
    assert_eq!(ids(&page), [approved["paymentId"].as_str().unwrap()]);
    let (_, _, page) = list(&running, &bearer, "type=preAuthorization").await;
    assert_eq!(page["count"], 0);
    let (_, _, page) = list(
        &running,
        &bearer,
        "dateFrom=2000-01-01T00:00:00Z&dateTo=2000-01-02T00:00:00Z",
    )
    .await;
    assert_eq!(page["count"], 0);
    let (_, _, page) = list(&running, &bearer, "dateFrom=2000-01-01T00:00:00Z").await;
    assert_eq!(page["count"], 2);
}

#[tokio::test]
async fn the_payments_list_pages_with_cursors_and_links() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let mut made = Vec::new();
    for n in 0..3 {
        let payment = sold(
            &running,
            &bearer,
            "4000000000001000",
            &format!("PAGE-{n}"),
            100 + n,
        )
        .await;
        made.push(payment["paymentId"].as_str().unwrap().to_owned());
    }
    let (_, _, first) = list(&running, &bearer, "limit=2").await;
    assert_eq!(ids(&first), made[..2]);
    assert_eq!(
        (&first["count"], &first["hasMore"]),
        (&json!(2), &json!(true))
    );
    assert_eq!(link(&first, "previous"), None);
    let next = link(&first, "next").expect("a next link");
    assert_eq!(
        next,
        format!(
            "{}/payroc/api/v1/payments?limit=2&after={}",
            running.url, made[1]
        )
    );
    let (status, _, second) = get_url(next, &bearer).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ids(&second), made[2..]);
    assert_eq!(second["hasMore"], false);
    assert_eq!(link(&second, "next"), None);
    let previous = link(&second, "previous").expect("a previous link");
    let (_, _, back) = get_url(previous, &bearer).await;
    assert_eq!(ids(&back), made[..2]);
    assert_eq!(back["hasMore"], false, "nothing before the first payment");
}

#[tokio::test]
async fn the_payments_list_refuses_in_payrocs_problem_shape() {
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    let url = format!("{}/payroc/api/v1/payments?orderId=X", running.url);
    for authorization in [None, Some("Bearer not-a-token")] {
        let mut request = browser().get(&url);
        if let Some(value) = authorization {
            request = request.header("Authorization", value);
        }
        let response = request.send().await.unwrap();
        let (status, kind) = (response.status(), content_type(&response));
        let body: Value = response.json().await.unwrap();
        assert_problem(
            status,
            &kind,
            &body,
            StatusCode::UNAUTHORIZED,
            "not-authorized",
        );
    }
    let (status, kind, body) = list(&running, &bearer, "processingTerminalId=9999001").await;
    let problem = assert_problem(status, &kind, &body, StatusCode::FORBIDDEN, "forbidden");
    assert_eq!(problem.resource.as_deref(), Some("processingTerminal"));
    let (status, kind, body) = list(
        &running,
        &bearer,
        "after=AAAA&before=BBBB&limit=1000&tipMode=adjusted",
    )
    .await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["limit", "tipMode", "before"]);
    let (status, kind, body) = list(&running, &bearer, "after=NOSUCHID").await;
    let problem = assert_problem(status, &kind, &body, StatusCode::BAD_REQUEST, "bad-request");
    assert_eq!(parameters(&problem), ["after"]);
}

#[tokio::test]
async fn the_payments_list_takes_the_fault_rules_of_its_path() {
    use threeds_bridge::sandbox::faults::FaultRule;
    let running = sandbox().await;
    let bearer = bearer(&running).await;
    running.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Payroc),
        endpoint: Some("/api/v1/payments".into()),
        error_rate: 1.0,
        error_status: Some(503),
        ..Default::default()
    }]);
    let (status, ..) = list(&running, &bearer, "orderId=X").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    running.sandbox.faults.set(vec![FaultRule {
        provider: Some(Provider::Payroc),
        endpoint: Some("/api/v1/payments".into()),
        hang: true,
        ..Default::default()
    }]);
    let hung = browser()
        .get(format!("{}/payroc/api/v1/payments?orderId=X", running.url))
        .bearer_auth(&bearer)
        .timeout(Duration::from_millis(300))
        .send()
        .await;
    assert!(hung.is_err(), "no answer: {hung:?}");
}

#[tokio::test]
async fn the_payments_list_fits_the_recorded_envelope() {
    let recorded = vector("list-payments.json");
    let page: threeds_bridge::sandbox::payroc::wire::PaymentList =
        serde_json::from_value(recorded.clone()).expect("recorded list");
    assert_eq!((page.limit, page.count, page.has_more), (2, 2, true));
    assert_eq!(page.data[0].payment_id, "M2MJOG6O2Y");
    assert_eq!(page.links[0].rel, "next");

    let running = sandbox().await;
    let bearer = bearer(&running).await;
    for n in 0..2 {
        sold(
            &running,
            &bearer,
            "4000000000001000",
            &format!("SHAPE-{n}"),
            4999,
        )
        .await;
    }
    let (_, _, live) = list(&running, &bearer, "limit=1&processingTerminalId=4479001").await;
    assert_eq!(live["links"].as_array().map(Vec::len), Some(1), "{live}");
    // The envelope against the list's recording; each payment against the fuller
    // recording of a created payment (the list's omits some optional members).
    let mut envelope = live.clone();
    envelope["data"] = json!([]);
    assert_subshape(&envelope, &recorded, "live list");
    assert_subshape(
        &live["data"][0],
        &vector("create-payment.json"),
        "live list.data[]",
    );
}
