//! Routing step 6: calls per second and concurrent channels, per interconnect (the
//! Signalling tab's `max_cps` and `max_channels`; 0 = no cap).
//!
//! - **CPS**: a counter per ingress interconnect and UTC second (`cps:{id}:{second}`,
//!   gone after 2 s); the call that takes it over the cap is refused with 503.
//! - **Channels**: a counting semaphore per interconnect (`channels:{id}`, [`Kv::acquire`])
//!   whose holders are call ids. A routed call holds a slot on its ingress interconnect
//!   and on its first route's egress interconnect; the other routes are only checked (a
//!   supplier whose channels are all in use is skipped). The slots are listed under
//!   `held:{call id}` and given back when the call's CDR arrives ([`release`]) or, if it
//!   never does, when the longest call allowed (+ 60 s of ringing) has passed.
//!
//! With `REDIS_URL` set these counters are shared by every `didtron` instance; without
//! it each instance counts its own calls.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use domain::routing::{Decision, RoutingTable};

use crate::kv::{Kv, KvError};

/// The semaphore of an interconnect's channels.
pub fn channel_key(interconnect_id: i64) -> String {
    format!("channels:{interconnect_id}")
}

fn held_key(call_id: &str) -> String {
    format!("held:{call_id}")
}

/// Applies the caps to a decision that routes the call (see the module documentation).
///
/// Errors: the store's; the decision is then left as it was.
pub async fn apply(
    kv: &Kv,
    table: &RoutingTable,
    call_id: &str,
    decision: &mut Decision,
) -> Result<(), KvError> {
    let Some(ingress) = decision.customer_interconnect else {
        return Ok(());
    };
    let (max_cps, max_channels) = table.caps(ingress).unwrap_or((0, 0));
    let egress_caps: Vec<u32> = decision
        .routes
        .iter()
        .map(|r| table.caps(r.supplier_interconnect).map_or(0, |c| c.1))
        .collect();
    if max_cps == 0 && max_channels == 0 && egress_caps.iter().all(|c| *c == 0) {
        return Ok(());
    }
    let name = |id: i64| table.party_name(id).unwrap_or_default();
    if max_cps > 0 {
        let second = Utc::now().timestamp();
        let n = kv
            .increment(&format!("cps:{ingress}:{second}"), Duration::from_secs(2))
            .await?;
        if n > i64::from(max_cps) {
            super::refuse_capacity(
                decision,
                503,
                format!("{} is over its {max_cps} calls per second", name(ingress)),
            );
            return Ok(());
        }
    }
    let hold = Duration::from_secs(u64::from(decision.max_duration_s.min(86_400)) + 60);
    let mut held: Vec<String> = Vec::new();
    if max_channels > 0 {
        let key = channel_key(ingress);
        if !kv.acquire(&key, call_id, max_channels, hold).await? {
            super::refuse_capacity(
                decision,
                503,
                format!(
                    "all {max_channels} channels of {} are in use",
                    name(ingress)
                ),
            );
            return Ok(());
        }
        held.push(key);
    }
    let mut index = 0;
    let mut caps = egress_caps.into_iter();
    while index < decision.routes.len() {
        let cap = caps.next().unwrap_or(0);
        let id = decision.routes[index].supplier_interconnect;
        if cap == 0 {
            index += 1;
            continue;
        }
        let key = channel_key(id);
        let free = if index == 0 {
            kv.acquire(&key, call_id, cap, hold).await?
        } else {
            kv.holders(&key).await? < u64::from(cap)
        };
        if free {
            if index == 0 {
                held.push(key);
            }
            index += 1;
        } else {
            super::exclude(
                decision,
                index,
                name(id),
                format!("all {cap} channels are in use"),
            );
        }
    }
    if decision.routes.is_empty() {
        for key in &held {
            kv.release(key, &[call_id.to_owned()]).await?;
        }
        super::refuse_capacity(
            decision,
            503,
            "no route left: every supplier's channels are in use".into(),
        );
        return Ok(());
    }
    if !held.is_empty() {
        kv.set(&held_key(call_id), held.join("\n").as_bytes(), Some(hold))
            .await?;
    }
    Ok(())
}

/// Gives back the channels the calls `call_ids` hold (their CDRs arrived): one `MGET`,
/// one release per semaphore, one delete. Returns the slots freed.
///
/// Errors: the store's (the slots then free themselves when their time is up).
pub async fn release(kv: &Kv, call_ids: &[&str]) -> Result<u64, KvError> {
    let keys: Vec<String> = call_ids.iter().map(|c| held_key(c)).collect();
    let values = kv.get_many(&keys).await?;
    let mut by_semaphore: HashMap<String, Vec<String>> = HashMap::new();
    let mut found = Vec::new();
    for ((call_id, key), value) in call_ids.iter().zip(&keys).zip(values) {
        let Some(value) = value else { continue };
        found.push(key.clone());
        for semaphore in String::from_utf8_lossy(&value).lines() {
            by_semaphore
                .entry(semaphore.to_owned())
                .or_default()
                .push((*call_id).to_owned());
        }
    }
    let mut freed = 0;
    for (semaphore, holders) in by_semaphore {
        freed += kv.release(&semaphore, &holders).await?;
    }
    kv.delete_many(&found).await?;
    Ok(freed)
}
