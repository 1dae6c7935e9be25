//! The key-value interface behaves the same in-process and on Redis.

use service::signin_limit::SignInLimiter;
use service::testing;
use std::time::Duration;

#[tokio::test]
async fn values_expire_after_their_ttl() {
    for env in testing::backends().await {
        let kv = &env.kv;
        kv.set("greeting", b"hello", Some(Duration::from_millis(300)))
            .await
            .unwrap();
        kv.set("forever", b"x", None).await.unwrap();
        assert_eq!(
            kv.get("greeting").await.unwrap().as_deref(),
            Some(&b"hello"[..]),
            "{}",
            env.name
        );
        let ttl = kv
            .time_to_live("greeting")
            .await
            .unwrap()
            .expect("has a ttl");
        assert!(ttl <= Duration::from_millis(300));
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            kv.get("greeting").await.unwrap(),
            None,
            "{}: expired",
            env.name
        );
        assert_eq!(kv.time_to_live("forever").await.unwrap(), None);
        assert!(kv.delete("forever").await.unwrap());
        assert!(!kv.delete("forever").await.unwrap());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn counters_count_within_their_window() {
    for env in testing::backends().await {
        let kv = &env.kv;
        for expected in 1..=3 {
            assert_eq!(
                kv.increment("hits", Duration::from_millis(300))
                    .await
                    .unwrap(),
                expected,
                "{}",
                env.name
            );
        }
        assert_eq!(kv.counter("hits").await.unwrap(), 3);
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert_eq!(
            kv.counter("hits").await.unwrap(),
            0,
            "{}: window over",
            env.name
        );
        assert_eq!(
            kv.increment("hits", Duration::from_secs(5)).await.unwrap(),
            1
        );
        // A Redis that lost its scripts (restarted, or `SCRIPT FLUSH`) is given them
        // again: the store's scripts run by their digest.
        if let Some(pool) = kv.redis_pool() {
            use fred::interfaces::LuaInterface;
            pool.script_flush(false).await.unwrap();
            assert_eq!(
                kv.increment("hits", Duration::from_secs(5)).await.unwrap(),
                2,
                "{}: after SCRIPT FLUSH",
                env.name
            );
        }
        env.cleanup().await;
    }
}

#[tokio::test]
async fn a_lock_has_one_holder_and_only_its_token_releases_it() {
    for env in testing::backends().await {
        let kv = &env.kv;
        let token = kv
            .try_lock("collector", Duration::from_millis(300))
            .await
            .unwrap()
            .expect("free");
        assert!(
            kv.try_lock("collector", Duration::from_secs(5))
                .await
                .unwrap()
                .is_none(),
            "{}: held",
            env.name
        );
        tokio::time::sleep(Duration::from_millis(400)).await;
        let second = kv
            .try_lock("collector", Duration::from_secs(5))
            .await
            .unwrap()
            .expect("expired lock is free");
        assert!(
            !kv.unlock("collector", &token).await.unwrap(),
            "{}: stale token cannot release",
            env.name
        );
        assert!(kv
            .try_lock("collector", Duration::from_secs(5))
            .await
            .unwrap()
            .is_none());
        assert!(kv.unlock("collector", &second).await.unwrap());
        assert!(kv
            .try_lock("collector", Duration::from_secs(5))
            .await
            .unwrap()
            .is_some());
        env.cleanup().await;
    }
}

#[tokio::test]
async fn sign_in_is_refused_after_too_many_failures() {
    for env in testing::backends().await {
        let limiter = SignInLimiter::new(env.kv.clone(), 3, Duration::from_secs(60));
        let ip = Some("192.0.2.7".parse().unwrap());
        for _ in 0..3 {
            assert!(limiter.check("noc@acme.io", ip).await.unwrap().is_ok());
            limiter.record_failure("noc@acme.io", ip).await.unwrap();
        }
        let locked = limiter
            .check("noc@acme.io", None)
            .await
            .unwrap()
            .unwrap_err();
        assert!(
            locked.retry_after > Duration::from_secs(50),
            "{}: {locked:?}",
            env.name
        );
        // The IP is locked for other accounts too.
        assert!(limiter.check("other@acme.io", ip).await.unwrap().is_err());
        assert!(limiter
            .check("other@acme.io", Some("192.0.2.8".parse().unwrap()))
            .await
            .unwrap()
            .is_ok());
        limiter.record_success("noc@acme.io").await.unwrap();
        assert!(limiter.check("noc@acme.io", None).await.unwrap().is_ok());
        env.cleanup().await;
    }
}

/// Credit reservations: the sum never exceeds the limit, even with many at once; one
/// holder renews its own; a lapsed one frees itself; a given-back one counts only for a
/// reader whose figures are older than the giving back.
#[tokio::test]
async fn reservations_never_exceed_their_limit() {
    use chrono::Utc;
    use service::kv::Reserved;
    for env in testing::backends().await {
        let kv = &env.kv;
        let hour = Duration::from_secs(3600);
        let read_at = Utc::now();
        // 40 holders at once want 100 each out of 1 000: exactly 10 get it.
        let tries = (0..40).map(|i| {
            let kv = kv.clone();
            async move {
                kv.reserve(
                    "credit:7",
                    &format!("call-{i}"),
                    100,
                    1_000,
                    hour,
                    read_at,
                    None,
                )
                .await
                .unwrap()
                .0
            }
        });
        let taken = futures::future::join_all(tries).await;
        assert_eq!(
            taken.iter().filter(|t| **t).count(),
            10,
            "{}: {taken:?}",
            env.name
        );
        assert_eq!(
            kv.reserved("credit:7", read_at).await.unwrap(),
            Reserved {
                amount: 1_000,
                holders: 10
            },
            "{}",
            env.name
        );
        let holder = format!("call-{}", taken.iter().position(|t| *t).unwrap());
        // The holder renews its own: what the others hold is 900.
        let (fits, others) = kv
            .reserve("credit:7", &holder, 100, 1_000, hour, read_at, None)
            .await
            .unwrap();
        assert!(fits, "{}", env.name);
        assert_eq!(
            others,
            Reserved {
                amount: 900,
                holders: 9
            },
            "{}",
            env.name
        );
        // Given back: it still counts for figures read before, not for figures read after.
        assert_eq!(
            kv.settle("credit:7", &[holder.clone(), "never-held".into()])
                .await
                .unwrap(),
            1,
            "{}",
            env.name
        );
        assert_eq!(
            kv.reserved("credit:7", read_at).await.unwrap(),
            Reserved {
                amount: 1_000,
                holders: 9
            },
            "{}: the reader's balance does not show the call's cost yet",
            env.name
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
        let (fits, others) = kv
            .reserve("credit:7", "late", 100, 1_000, hour, Utc::now(), None)
            .await
            .unwrap();
        assert!(fits, "{}: {others:?}", env.name);
        assert_eq!(others.amount, 900, "{}", env.name);
        // A reservation lapses after its time.
        let (fits, _) = kv
            .reserve(
                "credit:8",
                "short",
                500,
                500,
                Duration::from_millis(200),
                Utc::now(),
                Some(("note:short", b"credit:8")),
            )
            .await
            .unwrap();
        assert!(fits);
        assert_eq!(
            kv.get("note:short").await.unwrap().as_deref(),
            Some(&b"credit:8"[..]),
            "{}: the note is written with the reservation",
            env.name
        );
        assert!(
            !kv.reserve("credit:8", "next", 1, 500, hour, Utc::now(), None)
                .await
                .unwrap()
                .0
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            kv.reserve("credit:8", "next", 500, 500, hour, Utc::now(), None)
                .await
                .unwrap()
                .0,
            "{}: the lapsed reservation freed its amount",
            env.name
        );
        env.cleanup().await;
    }
}
