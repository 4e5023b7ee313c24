use super::*;
use http_body_util::BodyExt;

const ALICE: OwnerKey = [1; 16];
const BOB: OwnerKey = [2; 16];

fn event(n: usize) -> Bytes {
    Bytes::from(vec![b'x'; n])
}

#[tokio::test]
async fn recordings_are_bounded_bound_to_their_session_and_replayed_after_an_id() {
    let streams = Arc::new(Resumable::default());
    let rec = streams.record("abc", "s1", ALICE).unwrap();
    for seq in 1..=(MAX_EVENTS as u64 + 10) {
        rec.push(seq, Bytes::from(format!("e{seq}\n\n")));
    }
    let (kept, ended) = rec.after(0);
    assert_eq!(kept.len(), MAX_EVENTS, "the oldest go first");
    assert!(!ended);
    assert!(
        streams.find("s2", "abc-3").is_none(),
        "another session's stream"
    );
    assert!(streams.find("s1", "nope-3").is_none());
    assert!(streams.find("s1", "abc").is_none());
    let (found, seq) = streams.find("s1", "abc-260").unwrap();
    assert_eq!(seq, 260);
    rec.end();
    let body = replay(found, seq)
        .into_body()
        .collect()
        .await
        .unwrap()
        .to_bytes();
    assert_eq!(
        &body[..],
        b"e261\n\ne262\n\ne263\n\ne264\n\ne265\n\ne266\n\n"
    );
    // The bytes held are exactly what the one stream keeps.
    let kept: usize = rec.after(0).0.iter().map(|(_, e)| e.len()).sum();
    assert_eq!(streams.usage(), (1, kept));
}

fn small() -> Limits {
    Limits {
        streams: 6,
        streams_per_owner: 4,
        total_bytes: 10_000,
        owner_bytes: 4_000,
    }
}

#[tokio::test(start_paused = true)]
async fn an_owner_over_its_stream_share_is_refused_while_another_still_records() {
    let streams = Arc::new(Resumable::new(small()));
    let live: Vec<_> = (0..4)
        .map(|i| streams.record(&format!("a{i}"), "sa", ALICE).unwrap())
        .collect();
    assert!(
        streams.record("a4", "sa", ALICE).is_none(),
        "alice's share of live streams is full"
    );
    let bob = streams.record("b0", "sb", BOB).unwrap();
    bob.push(1, event(10));
    assert!(streams.find("sb", "b0-0").is_some());
    streams.record("b1", "sb", BOB).unwrap();
    assert!(
        streams.record("b2", "sb", BOB).is_none(),
        "the table is full of live streams"
    );
    assert_eq!(streams.usage().0, 6, "the table stays at its bound");
    // An ended stream of alice's makes room for her next one, the oldest-ended first.
    live[2].end();
    tokio::time::advance(Duration::from_millis(1)).await;
    live[0].end();
    streams.record("a5", "sa", ALICE).unwrap();
    assert!(
        streams.find("sa", "a2-0").is_none(),
        "the oldest ended went"
    );
    assert!(
        streams.find("sa", "a0-0").is_some(),
        "the newer ended stays"
    );
    assert_eq!(streams.usage().0, 6);
}

#[tokio::test(start_paused = true)]
async fn an_owner_over_its_byte_share_loses_its_own_events_not_another_owners() {
    let streams = Arc::new(Resumable::new(small()));
    let a = streams.record("a", "sa", ALICE).unwrap();
    let b = streams.record("b", "sb", BOB).unwrap();
    b.push(1, event(1_000));
    for seq in 1..=10 {
        a.push(seq, event(1_000));
    }
    // Alice keeps her last 4 KB; Bob's event stays.
    let kept: Vec<u64> = a.after(0).0.iter().map(|(s, _)| *s).collect();
    assert_eq!(kept, [7, 8, 9, 10]);
    assert_eq!(b.after(0).0.len(), 1);
    assert_eq!(streams.usage(), (2, 5_000));
    // Bob can still fill his own share.
    for seq in 2..=4 {
        b.push(seq, event(1_000));
    }
    assert_eq!(b.after(0).0.len(), 4);
    assert_eq!(streams.usage().1, 8_000);
}

#[tokio::test(start_paused = true)]
async fn a_full_total_evicts_ended_streams_before_live_ones_lose_events() {
    let limits = Limits {
        total_bytes: 3_000,
        ..small()
    };
    let streams = Arc::new(Resumable::new(limits));
    let old = streams.record("old", "s", ALICE).unwrap();
    old.push(1, event(2_000));
    old.end();
    let live = streams.record("live", "s", BOB).unwrap();
    live.push(1, event(1_000));
    live.push(2, event(1_000));
    assert!(
        streams.find("s", "old-0").is_none(),
        "the ended stream went"
    );
    assert_eq!(live.after(0).0.len(), 2);
    assert_eq!(streams.usage(), (1, 2_000));
    // Ended streams are forgotten KEEP_AFTER_END later, bytes and all.
    live.end();
    tokio::time::advance(KEEP_AFTER_END).await;
    streams.record("next", "s", BOB).unwrap();
    assert_eq!(streams.usage(), (1, 0));
}
