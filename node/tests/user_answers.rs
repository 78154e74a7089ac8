//! Bob's node asks its user about Alice's payments (`[policy] incoming_payments = "ask"`),
//! through the API: `channel_pending` shows what a payment changes, `channel_answer` accepts
//! one and rejects the next with a reason Alice's call reports, and one nobody answers is
//! rejected at Bob's deadline (`update_timeout_seconds`), so Alice's call is not stuck. Two
//! complete nodes in one process (`parley_node::lab::InProcess`).

mod common;
use common::lab_base;
use parley_node::api::types::{
    ChannelAnswerRequest, ChannelOpenRequest, ChannelPayRequest, ChannelPendingRequest,
    PendingUpdateInfo,
};
use parley_node::api::{ErrorCategory, NodeApi};
use parley_node::lab::{AutoAccept, InProcess, NodeSettings, Workspace};
use parley_plugin_api::model::{Amount, ChannelId};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bob's user has this long to answer.
const BOB_ANSWERS_WITHIN: u64 = 3;

fn pay(id: ChannelId, amount: u64) -> ChannelPayRequest {
    ChannelPayRequest {
        id,
        amount: Amount::from(amount),
        asset: None,
        payment: None,
    }
}

fn answer(
    id: ChannelId,
    version: Option<u64>,
    accept: bool,
    reason: Option<&str>,
) -> ChannelAnswerRequest {
    ChannelAnswerRequest {
        id,
        version,
        accept,
        reason: reason.map(str::to_string),
    }
}

/// Waits until Bob's node lists one pending update in `id`, and returns it.
async fn pending(bob: &Arc<dyn NodeApi>, id: ChannelId) -> PendingUpdateInfo {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut list = bob
            .channel_pending(ChannelPendingRequest { id: Some(id) })
            .await
            .unwrap();
        if let Some(update) = list.pop() {
            return update;
        }
        assert!(Instant::now() < deadline, "no pending update in {id}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bob_accepts_one_payment_rejects_one_with_a_reason_and_lets_one_lapse() {
    let workspace = Workspace::create("parley-user-answers-").unwrap();
    let mut lab = InProcess::new(lab_base(&workspace), workspace).unwrap();
    lab.start("alice", &NodeSettings::default()).await.unwrap();
    let bob_asks = NodeSettings {
        auto_accept: Some(AutoAccept::anyone(Amount::from(10_000u64))),
        more_policy: vec![
            ("incoming_payments", toml::Value::String("ask".into())),
            (
                "update_timeout_seconds",
                toml::Value::Integer(BOB_ANSWERS_WITHIN as i64),
            ),
        ],
        ..NodeSettings::default()
    };
    lab.start("bob", &bob_asks).await.unwrap();
    lab.introduce("alice", "bob").await.unwrap();
    let (a, b) = (lab.api("alice"), lab.api("bob"));
    let opened = a
        .channel_open(ChannelOpenRequest {
            challenge_seconds: Some(60),
            ..ChannelOpenRequest::payment("bob", Amount::from(100u64), Amount::from(50u64))
        })
        .await
        .unwrap();
    let id = opened.id;
    assert!(b
        .channel_pending(ChannelPendingRequest { id: None })
        .await
        .unwrap()
        .is_empty());

    // Accepted: listed with what it changes, then signed by both.
    let a2 = a.clone();
    let paying = tokio::spawn(async move { a2.channel_pay(pay(id, 30)).await });
    let update = pending(&b, id).await;
    assert_eq!((update.version, update.current_version), (1, 0));
    assert_eq!(update.kind, "payment_to_us");
    let change = &update.balances[0];
    assert_eq!(
        (change.mine_before, change.mine_after),
        (Amount::from(50u64), Amount::from(80u64))
    );
    assert_eq!(
        (change.theirs_before, change.theirs_after),
        (Amount::from(100u64), Amount::from(70u64))
    );
    assert!(update.answer_by.is_some());
    assert!(update.app.is_none());
    let wrong = b
        .channel_answer(answer(id, Some(2), true, None))
        .await
        .unwrap_err();
    assert_eq!(wrong.category, ErrorCategory::Conflict, "{wrong:?}");
    assert!(
        wrong.message.contains("version 1, not 2"),
        "{}",
        wrong.message
    );
    let after = b
        .channel_answer(answer(id, Some(1), true, None))
        .await
        .unwrap();
    assert_eq!(after.version, 1);
    assert_eq!(after.balances[0].mine, Amount::from(80u64));
    let paid = paying.await.unwrap().unwrap();
    assert_eq!(paid.balances[0].mine, Amount::from(70u64));

    // Rejected with a reason: Alice's call fails with it, nothing changes.
    let a2 = a.clone();
    let paying = tokio::spawn(async move { a2.channel_pay(pay(id, 5)).await });
    assert_eq!(pending(&b, id).await.version, 2);
    b.channel_answer(answer(id, None, false, Some("not for coffee")))
        .await
        .unwrap();
    let refused = paying.await.unwrap().unwrap_err();
    assert_eq!(refused.category, ErrorCategory::RejectedByPeer);
    assert!(
        refused.message.contains("not for coffee"),
        "{}",
        refused.message
    );
    let again = b
        .channel_answer(answer(id, Some(2), true, None))
        .await
        .unwrap_err();
    assert_eq!(again.category, ErrorCategory::Conflict);
    assert!(
        again.message.contains("already rejected"),
        "{}",
        again.message
    );

    // Not answered: rejected at Bob's deadline, well before Alice's own 30 s run out.
    let started = Instant::now();
    let refused = a.channel_pay(pay(id, 7)).await.unwrap_err();
    assert_eq!(refused.category, ErrorCategory::RejectedByPeer);
    assert!(
        refused.message.contains("not answered in time"),
        "{}",
        refused.message
    );
    assert!(started.elapsed() >= Duration::from_secs(BOB_ANSWERS_WITHIN - 1));
    let none = b
        .channel_answer(answer(id, None, true, None))
        .await
        .unwrap_err();
    assert_eq!(none.category, ErrorCategory::NotFound, "{none:?}");

    for node in [&a, &b] {
        let channel = node.channel_get(id).await.unwrap();
        assert_eq!(channel.version, 1);
    }
    assert_eq!(
        b.channel_get(id).await.unwrap().balances[0].mine,
        Amount::from(80u64)
    );
    lab.shutdown().await;
}
