//! The carriers module's rules, on SQLite and on PostgreSQL: validation with named
//! fields, one transaction per save, the audit trail, ingress address conflicts,
//! refusing to delete what is in use, and keyset lists with search.

use domain::carrier::{AccountingForm, ContactForm, CreditAlertForm};
use domain::interconnect::{AddressForm, CodecChoice, InterconnectForm, TranslationRuleForm};
use domain::listing::ListQuery;
use service::audit::{carrier_history, Actor};
use service::carriers::{self, contacts, credit_alerts, interconnects, list, NewCarrier};
use service::{testing, ServiceError};

fn admin() -> Actor {
    Actor {
        user_id: None,
        email: "ops@didtron.test".into(),
    }
}

async fn carrier(db: &sea_orm::DatabaseConnection, name: &str, code: &str, kind: &str) -> i64 {
    carriers::create_carrier(
        db,
        &admin(),
        NewCarrier {
            name: name.into(),
            account_code: code.into(),
            carrier_type: kind.into(),
            currency: "USD".into(),
        },
    )
    .await
    .unwrap()
    .id
}

async fn interconnect(
    db: &sea_orm::DatabaseConnection,
    carrier_id: i64,
    name: &str,
    direction: &str,
) -> i64 {
    interconnects::create_interconnect(
        db,
        &admin(),
        carrier_id,
        &InterconnectForm {
            name: name.into(),
            direction: direction.into(),
            status: "active".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id
}

fn field(err: ServiceError, name: &str) -> String {
    match err {
        ServiceError::Validation(f) => f
            .get(name)
            .unwrap_or_else(|| panic!("no error on {name}: {f}"))
            .to_owned(),
        other => panic!("expected a validation error on {name}, got {other:?}"),
    }
}

#[tokio::test]
async fn carrier_settings_save_per_tab_and_every_change_is_audited() {
    for env in testing::backends().await {
        let db = &env.db;
        let id = carrier(db, "Acme Telecom", "acme", "customer").await;
        let saved = carriers::get_carrier(db, id).await.unwrap();
        let mut form = carriers::details_form(&saved);
        form.timezone = "Europe/London".into();
        form.default_codecs = vec!["pcma".into(), "G729".into()];
        form.website = "https://acme.example".into();
        let after = carriers::update_details(db, &admin(), id, &form)
            .await
            .unwrap();
        assert_eq!(
            after.default_codecs, "PCMA,G729",
            "{}: catalogue spelling kept",
            env.name
        );
        assert_eq!(after.timezone, "Europe/London");

        form.default_codecs = vec!["Speex".into()];
        let err = carriers::update_details(db, &admin(), id, &form)
            .await
            .unwrap_err();
        assert!(
            field(err, "default_codecs").contains("Speex"),
            "{}",
            env.name
        );

        let mut accounting = AccountingForm {
            billing_mode: "postpaid".into(),
            credit_limit: "-5".into(),
            billing_cycle: "weekly".into(),
            payment_terms_days: "3".into(),
            ..Default::default()
        };
        let err = carriers::update_accounting(db, &admin(), id, &accounting)
            .await
            .unwrap_err();
        assert!(
            field(err, "credit_limit").contains("negative"),
            "{}",
            env.name
        );
        accounting.credit_limit = "5000".into();
        let m = carriers::update_accounting(db, &admin(), id, &accounting)
            .await
            .unwrap();
        assert_eq!(m.credit_limit_micros, 5_000_000_000);
        assert_eq!(carriers::billing_term(&m), "weekly 7/3");

        let history = carrier_history(db, id, None, 50).await.unwrap();
        assert_eq!(
            history
                .iter()
                .map(|h| h.action.as_str())
                .collect::<Vec<_>>(),
            ["update", "update", "create"],
            "{}: refused saves write nothing",
            env.name
        );
        let tz = history[1]
            .changes
            .iter()
            .find(|c| c.field == "timezone")
            .expect("timezone change recorded");
        assert_eq!(
            (tz.before.as_deref(), tz.after.as_deref()),
            (Some("UTC"), Some("Europe/London"))
        );
        assert_eq!(history[0].actor_email, "ops@didtron.test");
        let limit = history[0]
            .changes
            .iter()
            .find(|c| c.field == "credit_limit_micros")
            .unwrap();
        assert_eq!(limit.after.as_deref(), Some("5000000000"));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn an_ingress_address_another_carrier_holds_is_refused_by_name() {
    for env in testing::backends().await {
        let db = &env.db;
        let acme = carrier(db, "Acme Telecom", "ACME", "both").await;
        let globex = carrier(db, "Globex", "GLOBEX", "both").await;
        let acme_in = interconnect(db, acme, "Acme in", "ingress").await;
        let globex_in = interconnect(db, globex, "Globex in", "ingress").await;
        let globex_out = interconnect(db, globex, "Globex out", "egress").await;
        let add = |ic: i64, address: &str| {
            let form = AddressForm {
                address: address.into(),
                port: String::new(),
                transport: "udp".into(),
            };
            async move { interconnects::add_address(db, &admin(), ic, &form).await }
        };
        add(acme_in, "10.0.0.0/24").await.unwrap();
        match add(globex_in, "10.0.0.7").await.unwrap_err() {
            ServiceError::Conflict(text) => assert!(
                text.contains("Acme Telecom")
                    && text.contains("Acme in")
                    && text.contains("10.0.0.0/24"),
                "{}: {text}",
                env.name
            ),
            other => panic!("{}: {other:?}", env.name),
        }
        add(globex_in, "10.0.1.1").await.unwrap();
        add(globex_out, "10.0.0.7")
            .await
            .expect("egress addresses may be shared");
        let err = add(globex_in, "10.0.0.1/16").await.unwrap_err();
        assert!(
            field(err, "address").contains("10.0.0.0/16"),
            "{}: host bits refused",
            env.name
        );
        env.cleanup().await;
    }
}

#[tokio::test]
async fn interconnect_tabs_validate_and_persist() {
    for env in testing::backends().await {
        let db = &env.db;
        let supplier = carrier(db, "Tier1 Voice", "T1V", "supplier").await;
        let err = interconnects::create_interconnect(
            db,
            &admin(),
            supplier,
            &InterconnectForm {
                name: "T1 in".into(),
                direction: "ingress".into(),
                status: "active".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(
            field(err, "direction").contains("supplier only"),
            "{}",
            env.name
        );
        let ic = interconnect(db, supplier, "T1 out", "egress").await;

        let media = interconnects::media_form(
            &interconnects::get_interconnect(db, ic)
                .await
                .unwrap()
                .interconnect,
        );
        let codecs = vec![
            CodecChoice {
                codec: "g729".into(),
                relay_only: true,
            },
            CodecChoice {
                codec: "PCMA".into(),
                relay_only: false,
            },
        ];
        interconnects::save_media(db, &admin(), ic, &media, &codecs)
            .await
            .unwrap();
        let unknown = vec![CodecChoice {
            codec: "Speex".into(),
            relay_only: false,
        }];
        let err = interconnects::save_media(db, &admin(), ic, &media, &unknown)
            .await
            .unwrap_err();
        assert!(field(err, "codecs").contains("Speex"));

        let bad = vec![TranslationRuleForm {
            target: "b".into(),
            kind: "replace".into(),
            pattern: "^(00".into(),
            ..Default::default()
        }];
        let err = interconnects::save_translation_rules(db, &admin(), ic, &bad)
            .await
            .unwrap_err();
        assert!(
            field(err, "rules.0.pattern").starts_with("Rule 1:"),
            "{}",
            env.name
        );
        let good = vec![
            TranslationRuleForm {
                target: "b".into(),
                kind: "strip".into(),
                digits: "2".into(),
                ..Default::default()
            },
            TranslationRuleForm {
                target: "b".into(),
                kind: "prepend".into(),
                value: "44".into(),
                ..Default::default()
            },
        ];
        interconnects::save_translation_rules(db, &admin(), ic, &good)
            .await
            .unwrap();

        let detail = interconnects::get_interconnect(db, ic).await.unwrap();
        assert_eq!(
            detail.codecs,
            vec![
                CodecChoice {
                    codec: "G729".into(),
                    relay_only: true
                },
                CodecChoice {
                    codec: "PCMA".into(),
                    relay_only: false
                },
            ],
            "{}: order and relay-only kept",
            env.name
        );
        let rules = interconnects::translation_rules(&detail.interconnect);
        let out = domain::interconnect::Translator::new(&rules)
            .unwrap()
            .apply("", "0020712345");
        assert_eq!(out.b, "4420712345");
        env.cleanup().await;
    }
}

#[tokio::test]
async fn carriers_in_use_are_not_deleted_and_contacts_and_alerts_belong_to_their_carrier() {
    for env in testing::backends().await {
        let db = &env.db;
        let acme = carrier(db, "Acme Telecom", "ACME", "customer").await;
        let other = carrier(db, "Initech", "INITECH", "customer").await;
        interconnect(db, acme, "Acme in", "ingress").await;
        match carriers::delete_carrier(db, &admin(), acme)
            .await
            .unwrap_err()
        {
            ServiceError::Conflict(text) => assert!(
                text.contains("1 interconnect") && text.contains("Inactive"),
                "{text}"
            ),
            e => panic!("{e:?}"),
        }
        let c = contacts::save_contact(
            db,
            &admin(),
            acme,
            None,
            &ContactForm {
                role: "noc".into(),
                name: "Jane Roe".into(),
                email: "noc@acme.example".into(),
                phone: String::new(),
            },
        )
        .await
        .unwrap();
        assert!(matches!(
            contacts::delete_contact(db, &admin(), other, c.id).await,
            Err(ServiceError::NotFound(_))
        ));
        let a = credit_alerts::save_credit_alert(
            db,
            &admin(),
            acme,
            None,
            &CreditAlertForm {
                threshold: "100".into(),
                recipients: "billing@acme.example, noc@acme.example".into(),
                repeat_every_hours: String::new(),
                enabled: true,
            },
        )
        .await
        .unwrap();
        assert_eq!(a.threshold_micros, 100_000_000);
        assert_eq!(
            credit_alerts::list_credit_alerts(db, acme)
                .await
                .unwrap()
                .len(),
            1
        );
        // A carrier with an account history (here a payment) keeps it: not deleted.
        let paid = carrier(db, "Paid Co", "PAIDCO", "customer").await;
        service::cdrs::post_adjustment(
            db,
            &admin(),
            paid,
            &domain::cdr::PostingForm {
                kind: "payment".into(),
                amount: "50".into(),
                memo: "wire 1".into(),
            },
        )
        .await
        .unwrap();
        match carriers::delete_carrier(db, &admin(), paid)
            .await
            .unwrap_err()
        {
            ServiceError::Conflict(text) => assert!(text.contains("1 ledger entr"), "{text}"),
            e => panic!("{e:?}"),
        }
        assert!(carriers::get_carrier(db, paid).await.is_ok());
        carriers::delete_carrier(db, &admin(), other)
            .await
            .expect("an unused carrier can be deleted");
        assert!(matches!(
            carriers::get_carrier(db, other).await,
            Err(ServiceError::NotFound(_))
        ));
        env.cleanup().await;
    }
}

#[tokio::test]
async fn the_carriers_list_pages_by_keyset_filters_and_searches() {
    for env in testing::backends().await {
        let db = &env.db;
        let names = [
            "Acme Telecom",
            "Acme Mobile",
            "Globex",
            "Initech",
            "Umbrella",
            "Vandelay",
            "Wonka Voice",
        ];
        for (i, name) in names.iter().enumerate() {
            let kind = if i % 2 == 0 { "customer" } else { "supplier" };
            carrier(db, name, &format!("C{i:02}"), kind).await;
        }
        let mut seen = Vec::new();
        let mut query = ListQuery {
            limit: 3,
            ..Default::default()
        };
        loop {
            let page = list::list_carriers(db, &query).await.unwrap();
            assert!(page.rows.len() <= 3);
            seen.extend(page.rows.into_iter().map(|r| r.name));
            match page.next {
                Some(next) => query.after = next,
                None => break,
            }
        }
        let mut sorted = seen.clone();
        sorted.sort();
        assert_eq!(
            seen.len(),
            names.len(),
            "{}: every carrier once: {seen:?}",
            env.name
        );
        assert_eq!(seen, sorted, "{}: by name", env.name);

        let desc = list::list_carriers(
            db,
            &ListQuery {
                desc: true,
                limit: 2,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(desc.rows[0].name, "Wonka Voice");

        let found = list::list_carriers(
            db,
            &ListQuery {
                q: "acm".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let mut found: Vec<_> = found.rows.into_iter().map(|r| r.name).collect();
        found.sort();
        assert_eq!(
            found,
            ["Acme Mobile", "Acme Telecom"],
            "{}: case-insensitive search",
            env.name
        );
        let by_code = list::list_carriers(
            db,
            &ListQuery {
                q: "c04".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            by_code
                .rows
                .iter()
                .map(|r| r.name.as_str())
                .collect::<Vec<_>>(),
            ["Umbrella"]
        );
        let suppliers = list::list_carriers(
            db,
            &ListQuery {
                kind: "supplier".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(suppliers.rows.len(), 3, "{}", env.name);
        let huge = list::list_carriers(
            db,
            &ListQuery {
                limit: 100_000,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(
            huge.rows.len(),
            names.len(),
            "an oversized page is cut, not refused"
        );
        env.cleanup().await;
    }
}
