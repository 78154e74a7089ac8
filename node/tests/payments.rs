//! Payments you can track, through the API of two complete nodes in one process
//! (`parley_node::lab::InProcess`): both sides list each payment with its id, direction,
//! amount, version and the balances after it; an id given twice pays once; a call that timed
//! out is looked up by its id and completes when the peer answers (or, if it never started,
//! is not made and recorded as failed); a payment has one id on both
//! nodes (the payer's), unless it names one the payee already holds; and an invoice Bob issues
//! is paid by Alice's node and seen paid by Bob's, under one id on both.

mod common;
use common::lab_base;
use parley_node::api::payments::{InvoiceCreateRequest, InvoicePayRequest, PaymentListRequest};
use parley_node::api::types::{ChannelAnswerRequest, ChannelOpenRequest, ChannelPayRequest};
use parley_node::api::{ErrorCategory, NodeApi};
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_node::store::PaymentId;
use parley_plugin_api::model::{Amount, ChannelId};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Alice and Bob, Bob accepting Alice's channel; `alice` and `bob` add policy.
async fn start(
    alice: Vec<(&'static str, toml::Value)>,
    bob: Vec<(&'static str, toml::Value)>,
) -> InProcess {
    let workspace = Workspace::create("parley-payments-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    let alice = NodeSettings {
        more_policy: alice,
        ..NodeSettings::default()
    };
    lab.start("alice", &alice).await.unwrap();
    let bob = NodeSettings {
        auto_accept: Some(AutoAccept::anyone(Amount::from(10_000u64))),
        more_policy: bob,
        ..NodeSettings::default()
    };
    lab.start("bob", &bob).await.unwrap();
    lab.introduce("alice", "bob").await.unwrap();
    lab
}

/// Alice, whose payments wait 1 s for an answer, and Bob, who answers payments himself within
/// `bob_timeout` seconds.
async fn bob_answers_himself(bob_timeout: i64) -> InProcess {
    start(
        vec![("update_timeout_seconds", toml::Value::Integer(1))],
        vec![
            ("incoming_payments", toml::Value::String("ask".into())),
            ("update_timeout_seconds", toml::Value::Integer(bob_timeout)),
        ],
    )
    .await
}

async fn open(alice: &Arc<dyn NodeApi>) -> ChannelId {
    alice
        .channel_open(ChannelOpenRequest {
            challenge_seconds: Some(60),
            ..ChannelOpenRequest::payment("bob", Amount::from(1000u64), Amount::from(500u64))
        })
        .await
        .unwrap()
        .id
}

fn pay(id: ChannelId, amount: u64, payment: Option<PaymentId>) -> ChannelPayRequest {
    ChannelPayRequest {
        id,
        amount: Amount::from(amount),
        asset: None,
        payment,
    }
}

/// `(direction, amount, version, status, mine, theirs)` of each listed payment, newest first.
async fn history(node: &Arc<dyn NodeApi>) -> Vec<(String, u64, u64, String, u64, u64)> {
    let as_u64 = |a: Amount| a.to_string().parse::<u64>().unwrap();
    node.payment_list(PaymentListRequest::default())
        .await
        .unwrap()
        .into_iter()
        .map(|p| {
            (
                p.direction,
                as_u64(p.amount),
                p.version,
                p.status,
                as_u64(p.mine),
                as_u64(p.theirs),
            )
        })
        .collect()
}

/// What `probe` finds, polled every 50 ms for at most 10 s; `what` is shown if it never does.
async fn eventually<T, F, Fut>(what: impl std::fmt::Display, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, String>>,
{
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match probe().await {
            Ok(found) => return found,
            Err(now) => assert!(Instant::now() < deadline, "{what}: {now}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// `history(node)` once it lists `count` payments.
async fn history_of(
    node: &Arc<dyn NodeApi>,
    count: usize,
) -> Vec<(String, u64, u64, String, u64, u64)> {
    eventually("the history", || async {
        let list = history(node).await;
        if list.len() >= count {
            Ok(list)
        } else {
            Err(format!("{list:?}"))
        }
    })
    .await
}

fn row(
    dir: &str,
    amount: u64,
    version: u64,
    mine: u64,
    theirs: u64,
) -> (String, u64, u64, String, u64, u64) {
    (
        dir.into(),
        amount,
        version,
        "completed".into(),
        mine,
        theirs,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_sides_list_each_payment_and_an_invoice_is_paid_under_one_id() {
    let mut lab = start(Vec::new(), Vec::new()).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let id = open(&a).await;

    let mine = PaymentId([0x11; 16]);
    a.channel_pay(pay(id, 7, Some(mine))).await.unwrap();
    b.channel_pay(pay(id, 2, None)).await.unwrap();
    // The same id again is the same payment: nothing moves.
    let again = a.channel_pay(pay(id, 7, Some(mine))).await.unwrap();
    assert_eq!(again.version, 2);

    assert_eq!(
        history(&a).await,
        [row("received", 2, 2, 995, 505), row("sent", 7, 1, 993, 507)]
    );
    // Bob records Alice's payment as soon as it is durable on his side.
    assert_eq!(
        history_of(&b, 2).await,
        [row("sent", 2, 2, 505, 995), row("received", 7, 1, 507, 993)]
    );
    // One id on both nodes: the payer's, told with the update.
    let ids = |list: Vec<parley_node::api::payments::PaymentInfo>| {
        list.into_iter().map(|p| p.id).collect::<Vec<_>>()
    };
    let everything = PaymentListRequest::default;
    assert_eq!(
        ids(a.payment_list(everything()).await.unwrap()),
        ids(b.payment_list(everything()).await.unwrap())
    );
    let received = b.payment_get(mine).await.unwrap();
    assert_eq!(
        (received.direction.as_str(), received.version),
        ("received", 1)
    );
    // Bob cannot pay under the id of a payment he received.
    let reused = b.channel_pay(pay(id, 1, Some(mine))).await.unwrap_err();
    assert_eq!(reused.category, ErrorCategory::Conflict, "{reused}");
    assert!(reused.message.contains("received"), "{reused}");
    let sent = a.payment_get(mine).await.unwrap();
    assert_eq!((sent.channel, sent.direction.as_str()), (id, "sent"));
    let unknown = a.payment_get(PaymentId([0x22; 16])).await.unwrap_err();
    assert_eq!(unknown.category, ErrorCategory::NotFound, "{unknown}");
    let page = a
        .payment_list(PaymentListRequest {
            channel: Some(id),
            limit: Some(1),
            offset: Some(1),
        })
        .await
        .unwrap();
    assert_eq!(page.len(), 1);
    assert_eq!(page[0].id, mine);

    // An overdraft is refused at once and recorded as failed, with the reason.
    let over = PaymentId([0x44; 16]);
    let error = a.channel_pay(pay(id, 5000, Some(over))).await.unwrap_err();
    assert_eq!(error.category, ErrorCategory::InsufficientFunds, "{error}");
    let failed = eventually("no record of the overdraft", || async {
        a.payment_get(over).await.map_err(|e| e.to_string())
    })
    .await;
    assert_eq!((failed.status.as_str(), failed.version), ("failed", 3));
    // In the asset's whole units, as a person reads it (ETH has 18 decimals on the sim chain).
    let reason = failed.reason.clone().unwrap_or_default();
    assert!(
        reason.starts_with("the payment of 0.000000000000005 ETH exceeds the available balance of"),
        "{failed:?}"
    );

    // Bob asks for 100; Alice's node checks the invoice and pays it through the channel.
    let invoice = b
        .invoice_create(InvoiceCreateRequest {
            amount: Amount::from(100u64),
            asset: None,
            memo: Some("coffee".into()),
            expiry_seconds: Some(600),
        })
        .await
        .unwrap();
    assert_eq!(invoice.status, "open");
    let paid = a
        .invoice_pay(InvoicePayRequest {
            invoice: invoice.invoice.clone(),
        })
        .await
        .unwrap();
    assert_eq!(paid.id, invoice.id);
    assert_eq!((paid.direction.as_str(), paid.version), ("sent", 3));
    assert_eq!(paid.amount, Amount::from(100u64));
    assert_eq!(paid.memo, "coffee");
    // Paying it again pays nothing more.
    let twice = a
        .invoice_pay(InvoicePayRequest {
            invoice: invoice.invoice.clone(),
        })
        .await
        .unwrap();
    assert_eq!(twice.version, 3);
    let listed = eventually("bob's invoice", || async {
        let list = b.invoice_list().await.unwrap();
        if list[0].status == "paid" {
            Ok(list)
        } else {
            Err(format!("{list:?}"))
        }
    })
    .await;
    let received = listed[0].payment.clone().unwrap();
    assert_eq!(
        (received.id, received.direction.as_str()),
        (invoice.id, "received")
    );
    assert_eq!(
        (received.mine, received.memo.as_str()),
        (Amount::from(605u64), "coffee")
    );
    // Bob cannot pay his own invoice.
    let own = b
        .invoice_pay(InvoicePayRequest {
            invoice: invoice.invoice,
        })
        .await
        .unwrap_err();
    assert_eq!(own.category, ErrorCategory::InvalidArgument, "{own}");

    // Bob names his payment with an id Alice already holds (her failed overdraft): her record
    // stays as it was, and she records his payment under its derived id.
    b.channel_pay(pay(id, 1, Some(over))).await.unwrap();
    history_of(&a, 5).await;
    assert_eq!(a.payment_get(over).await.unwrap().status, "failed");
    let newest = &a.payment_list(everything()).await.unwrap()[0];
    assert_eq!(
        (newest.id, newest.direction.as_str(), newest.version),
        (PaymentId::derived(&id, 4), "received", 4)
    );
    lab.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_whose_call_timed_out_is_looked_up_and_completes_later() {
    let mut lab = bob_answers_himself(30).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let id = open(&a).await;

    let late = PaymentId([0x33; 16]);
    let error = a.channel_pay(pay(id, 40, Some(late))).await.unwrap_err();
    assert_eq!(error.category, ErrorCategory::Unavailable, "{error}");
    assert!(error.message.contains(&late.to_string()), "{error}");
    let pending = a.payment_get(late).await.unwrap();
    assert_eq!((pending.status.as_str(), pending.version), ("pending", 1));

    // A second payment waits behind the first; its call times out before it starts, so it is
    // not made, and its record says so at once.
    let queued = PaymentId([0x55; 16]);
    let error = a.channel_pay(pay(id, 3, Some(queued))).await.unwrap_err();
    assert_eq!(error.category, ErrorCategory::Unavailable, "{error}");
    assert!(error.message.contains("was not made"), "{error}");
    let failed = a.payment_get(queued).await.unwrap();
    assert_eq!(failed.status, "failed", "{failed:?}");
    assert!(failed
        .reason
        .unwrap_or_default()
        .contains("waited behind earlier updates"));

    b.channel_answer(ChannelAnswerRequest {
        id,
        version: Some(1),
        accept: true,
        reason: None,
    })
    .await
    .unwrap();
    let now = wait_for_status(&a, late, "completed").await;
    assert_eq!((now.version, now.mine), (1, Amount::from(960u64)));
    // The withdrawn payment never follows: the channel stays at version 1.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let channel = a.channel_get(id).await.unwrap();
    assert_eq!(channel.version, 1);
    assert_eq!(a.payment_get(queued).await.unwrap().status, "failed");
    lab.shutdown().await;
}

/// Polls `node` until payment `id` has `status` (10 s at most); returns its record.
async fn wait_for_status(
    node: &Arc<dyn NodeApi>,
    id: PaymentId,
    status: &str,
) -> parley_node::api::payments::PaymentInfo {
    eventually(format!("payment {id} not {status}"), || async {
        let now = node.payment_get(id).await.unwrap();
        if now.status == status {
            Ok(now)
        } else {
            Err(format!("{now:?}"))
        }
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_payment_pending_when_the_payer_restarts_ends_in_its_history() {
    let mut lab = bob_answers_himself(60).await;
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let id = open(&a).await;
    let answer = |version, accept| ChannelAnswerRequest {
        id,
        version: Some(version),
        accept,
        reason: None,
    };

    // Alice's payment waits for Bob; she restarts before he answers; he accepts meanwhile.
    // Re-synchronisation brings her his signature: the payment completes in her history.
    let first = PaymentId([0x66; 16]);
    a.channel_pay(pay(id, 40, Some(first))).await.unwrap_err();
    lab.stop("alice").await;
    b.channel_answer(answer(1, true)).await.unwrap();
    let a = lab.restart("alice").await.unwrap();
    let done = wait_for_status(&a, first, "completed").await;
    assert_eq!((done.version, done.mine), (1, Amount::from(960u64)));

    // The same, but Bob rejects: re-synchronisation drops her update, and her history says
    // the payment was not made.
    // (Alice's restart spent version 2: a proposal may leave before its record is durable.)
    let second = PaymentId([0x77; 16]);
    a.channel_pay(pay(id, 5, Some(second))).await.unwrap_err();
    lab.stop("alice").await;
    b.channel_answer(answer(3, false)).await.unwrap();
    let a = lab.restart("alice").await.unwrap();
    let dropped = wait_for_status(&a, second, "failed").await;
    assert!(
        dropped.reason.unwrap_or_default().contains("not made"),
        "{:?}",
        a.payment_get(second).await
    );
    assert_eq!(a.channel_get(id).await.unwrap().version, 1);
    lab.shutdown().await;
}
