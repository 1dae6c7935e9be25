//! The durable job queue, on SQLite and on PostgreSQL: distinct claims, retries with
//! back-off, a dead worker's job handed to another, and unknown kinds failed, not lost.

use chrono::{Duration, Utc};
use sea_orm::{ActiveModelTrait, EntityTrait, Set};
use service::entity::job;
use service::jobs::{self, JobContext};
use service::testing;

#[tokio::test]
async fn jobs_are_claimed_once_retried_and_recovered_from_dead_workers() {
    for env in testing::backends().await {
        let db = &env.db;
        let a = jobs::enqueue(db, "test.a", &serde_json::json!({"n": 1}))
            .await
            .unwrap();
        let b = jobs::enqueue(db, "test.b", &serde_json::json!({"n": 2}))
            .await
            .unwrap();
        let (one, two) = tokio::join!(jobs::claim(db, "w1"), jobs::claim(db, "w2"));
        let (one, two) = (one.unwrap().unwrap(), two.unwrap().unwrap());
        assert_ne!(
            one.id, two.id,
            "{}: two workers never get the same job",
            env.name
        );
        assert_eq!([one.id.min(two.id), one.id.max(two.id)], [a, b]);
        assert!(
            jobs::claim(db, "w3").await.unwrap().is_none(),
            "nothing left"
        );

        // A failure with attempts left goes back to the queue, later.
        assert!(jobs::fail(db, &one, "database away", true).await.unwrap());
        assert!(
            jobs::claim(db, "w3").await.unwrap().is_none(),
            "{}: backing off",
            env.name
        );

        // A worker that died mid-job (no heartbeat for a while): the job runs again.
        let mut dead: job::ActiveModel = two.clone().into();
        dead.heartbeat_at = Set(Some(Utc::now() - Duration::minutes(5)));
        dead.update(db).await.unwrap();
        let again = jobs::claim(db, "w4").await.unwrap().unwrap();
        assert_eq!(
            (again.id, again.attempts, again.worker.as_deref()),
            (two.id, 2, Some("w4"))
        );
        jobs::complete(db, again.id).await.unwrap();

        // An unknown kind fails at once and says why.
        let (files, dir) = testing::files();
        let ctx = JobContext {
            db: db.clone(),
            files,
            kv: service::kv::Kv::local(),
        };
        let odd = jobs::enqueue(db, "no.such.kind", &()).await.unwrap();
        assert!(jobs::run_one(&ctx, "w5").await.unwrap());
        let odd = job::Entity::find_by_id(odd).one(db).await.unwrap().unwrap();
        assert_eq!(odd.status, "failed");
        assert!(
            odd.last_error.contains("unknown job kind"),
            "{}",
            odd.last_error
        );

        // System Status lists it; Retry queues it again from the start, audited, and
        // only a failed job can be retried.
        let failed = service::status::views::failed_jobs(db, 10).await.unwrap();
        assert_eq!(
            failed
                .iter()
                .map(|f| (f.id, f.kind.as_str()))
                .collect::<Vec<_>>(),
            [(odd.id, "no.such.kind")],
            "{}",
            env.name
        );
        let ops = service::audit::Actor {
            user_id: None,
            email: "ops@didtron.test".into(),
        };
        jobs::retry(db, &ops, odd.id).await.unwrap();
        let retried = job::Entity::find_by_id(odd.id)
            .one(db)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((retried.status.as_str(), retried.attempts), ("queued", 0));
        assert!(service::status::views::failed_jobs(db, 10)
            .await
            .unwrap()
            .is_empty());
        let audited = service::entity::audit_entry::Entity::find()
            .all(db)
            .await
            .unwrap();
        assert!(
            audited.iter().any(|a| a.entity == "job"
                && a.entity_id == odd.id
                && a.actor_email == "ops@didtron.test"
                && a.changes.contains("queued")),
            "{}: {audited:?}",
            env.name
        );
        assert!(
            matches!(
                jobs::retry(db, &ops, odd.id).await,
                Err(service::ServiceError::Conflict(_))
            ),
            "{}: a queued job is not retried",
            env.name
        );
        assert!(matches!(
            jobs::retry(db, &ops, 999_999).await,
            Err(service::ServiceError::NotFound("job"))
        ));
        env.cleanup().await;
        let _ = std::fs::remove_dir_all(dir);
    }
}
