//! Reference data and services, on SQLite and on PostgreSQL: validation, unique names,
//! and nothing in use can be deleted.

use domain::catalog::{CodecForm, ReferenceForm, ReferenceKind, ServiceForm};
use domain::interconnect::{CodecChoice, InterconnectForm};
use service::audit::Actor;
use service::carriers::{self, interconnects, NewCarrier};
use service::{catalog, testing, ServiceError};

fn admin() -> Actor {
    Actor {
        user_id: None,
        email: "ops@didtron.test".into(),
    }
}

fn named(name: &str) -> ReferenceForm {
    ReferenceForm {
        name: name.into(),
        ..Default::default()
    }
}

#[tokio::test]
async fn reference_items_are_unique_per_kind_and_refused_while_in_use() {
    for env in testing::backends().await {
        let db = &env.db;
        let pop =
            catalog::save_reference(db, &admin(), ReferenceKind::Pop, None, &named("London LD8"))
                .await
                .unwrap();
        // The same name under another kind is fine; twice under one kind is not.
        catalog::save_reference(
            db,
            &admin(),
            ReferenceKind::VoiceTier,
            None,
            &named("London LD8"),
        )
        .await
        .unwrap();
        match catalog::save_reference(db, &admin(), ReferenceKind::Pop, None, &named("London LD8"))
            .await
        {
            Err(ServiceError::Validation(f)) => {
                assert!(f.get("name").unwrap().contains("already"), "{}", env.name)
            }
            other => panic!("{}: {other:?}", env.name),
        }
        let plan = ReferenceForm {
            name: "Gold".into(),
            max_channels: "100".into(),
            max_cps: "10".into(),
            ..Default::default()
        };
        let plan = catalog::save_reference(db, &admin(), ReferenceKind::ChannelPlan, None, &plan)
            .await
            .unwrap();
        assert_eq!((plan.max_channels, plan.max_cps), (Some(100), Some(10)));
        assert_eq!(
            catalog::list_reference(db, ReferenceKind::Pop)
                .await
                .unwrap()
                .len(),
            1
        );

        let acme = carriers::create_carrier(
            db,
            &admin(),
            NewCarrier {
                name: "Acme".into(),
                account_code: "ACME".into(),
                carrier_type: "customer".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
        let ic = interconnects::create_interconnect(
            db,
            &admin(),
            acme.id,
            &InterconnectForm {
                name: "Acme in".into(),
                direction: "ingress".into(),
                status: "active".into(),
                pop_id: pop.id.to_string(),
                channel_plan_id: plan.id.to_string(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        match catalog::delete_reference(db, &admin(), pop.id).await {
            Err(ServiceError::Conflict(text)) => assert!(
                text.contains("London LD8") && text.contains("1 interconnect"),
                "{text}"
            ),
            other => panic!("{}: {other:?}", env.name),
        }

        // A codec in use stays; an unused one goes.
        let media = interconnects::media_form(&ic);
        interconnects::save_media(
            db,
            &admin(),
            ic.id,
            &media,
            &[CodecChoice {
                codec: "PCMA".into(),
                relay_only: false,
            }],
        )
        .await
        .unwrap();
        let codecs = catalog::list_codecs(db).await.unwrap();
        let pcma = codecs.iter().find(|c| c.name == "PCMA").unwrap();
        assert!(matches!(
            catalog::delete_codec(db, &admin(), pcma.id).await,
            Err(ServiceError::Conflict(_))
        ));
        let added = catalog::create_codec(
            db,
            &admin(),
            &CodecForm {
                name: "G726-32".into(),
                payload_type: String::new(),
                clock_rate: "8000".into(),
                description: "ADPCM".into(),
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            catalog::create_codec(
                db,
                &admin(),
                &CodecForm {
                    name: "g726-32".into(),
                    clock_rate: "8000".into(),
                    ..Default::default()
                }
            )
            .await,
            Err(ServiceError::Validation(_))
        ));
        catalog::delete_codec(db, &admin(), added.id).await.unwrap();
        env.cleanup().await;
    }
}

#[tokio::test]
async fn services_match_the_direction_of_the_interconnect_that_uses_them() {
    for env in testing::backends().await {
        let db = &env.db;
        let retail = catalog::save_service(
            db,
            &admin(),
            None,
            &ServiceForm {
                name: "Premium CLI".into(),
                direction: "customer".into(),
                status: "active".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let bought = catalog::save_service(
            db,
            &admin(),
            None,
            &ServiceForm {
                name: "Tier-1 termination".into(),
                direction: "supplier".into(),
                status: "active".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let acme = carriers::create_carrier(
            db,
            &admin(),
            NewCarrier {
                name: "Acme".into(),
                account_code: "ACME".into(),
                carrier_type: "customer".into(),
                currency: "USD".into(),
            },
        )
        .await
        .unwrap();
        let ic = interconnects::create_interconnect(
            db,
            &admin(),
            acme.id,
            &InterconnectForm {
                name: "Acme in".into(),
                direction: "ingress".into(),
                status: "active".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        match interconnects::save_services(db, &admin(), ic.id, &[bought.id]).await {
            Err(ServiceError::Validation(f)) => assert!(
                f.get("services").unwrap().contains("Tier-1 termination"),
                "{}",
                env.name
            ),
            other => panic!("{}: {other:?}", env.name),
        }
        assert_eq!(
            interconnects::save_services(db, &admin(), ic.id, &[retail.id, retail.id])
                .await
                .unwrap(),
            vec![retail.id]
        );
        match catalog::delete_service(db, &admin(), retail.id).await {
            Err(ServiceError::Conflict(text)) => assert!(text.contains("Deactivate"), "{text}"),
            other => panic!("{}: {other:?}", env.name),
        }
        let mut form = ServiceForm {
            name: "Premium CLI".into(),
            direction: "customer".into(),
            status: "inactive".into(),
            ..Default::default()
        };
        let saved = catalog::save_service(db, &admin(), Some(retail.id), &form)
            .await
            .unwrap();
        assert_eq!(saved.status, "inactive");
        form.name = "Tier-1 termination".into();
        assert!(matches!(
            catalog::save_service(db, &admin(), Some(retail.id), &form).await,
            Err(ServiceError::Validation(_))
        ));
        env.cleanup().await;
    }
}
