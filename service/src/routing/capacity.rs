//! Routing step 6: calls per second and concurrent channels, per interconnect (the
//! Signalling tab's `max_cps` and `max_channels`, made tighter by the interconnect's
//! channel plan, if any) and per customer carrier over all of its ingress
//! interconnects (the Carrier Details tab's traffic limits); 0 = no cap.
//!
//! - **CPS**: a counter per ingress interconnect and UTC second (`cps:{id}:{second}`,
//!   gone after 2 s), and one per customer carrier (`cps:carrier:{id}:{second}`); the
//!   call that takes either over its cap is refused with 503.
//! - **Channels**: a counting semaphore per interconnect (`channels:{id}`, [`Kv::acquire`])
//!   and per customer carrier (`channels:carrier:{id}`) whose holders are call ids. A
//!   routed call holds a slot on its ingress interconnect, on its carrier and on its
//!   first route's egress interconnect; the other routes are only checked (a
//!   supplier whose channels are all in use is skipped). The slots are listed under
//!   `held:{call id}` and given back when the call's CDR arrives ([`release`]) or, if it
//!   never does, when the longest call allowed (+ 60 s of ringing) has passed.
//!
//! - **Credit** (step 7 with the calls in progress): a routed call reserves the most it
//!   can cost from its customer's credit (`credit:{carrier id}`, [`Kv::reserve`]), so
//!   concurrent calls share the credit instead of each being offered all of it; given
//!   back with the channels.
//!
//! With `REDIS_URL` set these counters are shared by every `didtron` instance; without
//! it each instance counts its own calls.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use domain::routing::{Decision, RoutingTable};

use crate::kv::{Kv, KvError};

/// The semaphore of an interconnect's channels.
pub fn channel_key(interconnect_id: i64) -> String {
    Caller::Interconnect(interconnect_id).channel_key()
}

/// What a call is counted against on the calling side.
#[derive(Clone, Copy)]
enum Caller {
    /// The ingress interconnect (its Signalling caps, or its channel plan's).
    Interconnect(i64),
    /// The customer carrier, over all of its ingress interconnects.
    Carrier(i64),
}

impl Caller {
    /// The part of the store's keys that names it: `{id}` or `carrier:{id}`.
    fn counted(self) -> String {
        match self {
            Caller::Interconnect(id) => id.to_string(),
            Caller::Carrier(id) => format!("carrier:{id}"),
        }
    }

    fn channel_key(self) -> String {
        format!("channels:{}", self.counted())
    }

    /// Its name for a refusal's reason.
    fn name(self, table: &RoutingTable) -> String {
        match self {
            Caller::Interconnect(id) => table.party_name(id).unwrap_or_default(),
            Caller::Carrier(id) => table.carrier_name(id).unwrap_or_default().to_owned(),
        }
    }
}

fn held_key(call_id: &str) -> String {
    format!("held:{call_id}")
}

/// The reservations of a customer carrier's credit (see [`apply`]).
pub fn credit_key(carrier_id: i64) -> String {
    format!("credit:{carrier_id}")
}

/// Applies the caps (see the module documentation), then holds the credit the call may
/// spend: a routed call reserves what its longest route's `max_duration_s` costs at the
/// sell rate ([`Decision::credit_to_reserve`]) from its customer carrier's available
/// credit (`credit`, read at `as_of`), so that calls in progress never spend together
/// more than the credit. When the others' reservations leave less, the call is
/// shortened to what is left ([`Decision::fit_credit`]); when not even the first block
/// is left it is refused 402 and its channels are given back. The reservation is given
/// back when the call's CDR arrives ([`release`]; it keeps counting for a router whose
/// credit was read before that, until the balance it read shows the call), or lapses
/// with the channels.
///
/// Errors: the store's; the decision is then left as it was (caps taken before the
/// failure lapse with their time).
pub async fn apply(
    kv: &Kv,
    table: &RoutingTable,
    credit: Option<(i64, DateTime<Utc>)>,
    call_id: &str,
    decision: &mut Decision,
) -> Result<(), KvError> {
    let Some(held) = apply_caps(kv, table, call_id, decision).await? else {
        return Ok(());
    };
    let hold = hold_for(decision);
    if let (Some(carrier), Some((available, as_of))) = (decision.customer_carrier, credit) {
        let key = credit_key(carrier);
        // What the call holds, written with the reservation (one round trip).
        let note = held
            .iter()
            .chain(std::iter::once(&key))
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("\n");
        let call_key = held_key(call_id);
        // Others may reserve between two tries; each try fits the call into what the
        // last one found left.
        // A free call (no rate, no fee) reserves nothing.
        let mut free = false;
        for _ in 0..4 {
            let amount = decision.credit_to_reserve();
            if amount == 0 {
                free = true;
                break;
            }
            let (fits, others) = kv
                .reserve(
                    &key,
                    call_id,
                    amount,
                    available,
                    hold,
                    as_of,
                    Some((&call_key, note.as_bytes())),
                )
                .await?;
            if fits {
                return Ok(());
            }
            if !decision.fit_credit(available, (others.amount, others.holders)) {
                break;
            }
        }
        if !free {
            give_back(kv, &held, call_id).await?;
            if decision.refusal.is_none() {
                super::refuse_capacity(
                    decision,
                    503,
                    "the customer's credit is being reserved by many calls at once; try again"
                        .into(),
                );
            }
            return Ok(());
        }
    }
    if !held.is_empty() {
        kv.set(&held_key(call_id), held.join("\n").as_bytes(), Some(hold))
            .await?;
    }
    Ok(())
}

/// Credit held by calls in progress (open reservations only) of each of `carriers`
/// that has any, asked of the store all at once.
///
/// Errors: the store's.
pub async fn held_credit(
    kv: &Kv,
    carriers: &[i64],
) -> Result<HashMap<i64, crate::kv::Reserved>, KvError> {
    let now = Utc::now();
    let asks = carriers
        .iter()
        .map(|id| async move { kv.reserved(&credit_key(*id), now).await.map(|r| (*id, r)) });
    Ok(futures::future::try_join_all(asks)
        .await?
        .into_iter()
        .filter(|(_, r)| r.holders > 0)
        .collect())
}

/// Gives back the channel slots `call_id` took (`held`: their semaphores' keys), for a
/// call refused after taking them.
async fn give_back(kv: &Kv, held: &[String], call_id: &str) -> Result<(), KvError> {
    let holder = [call_id.to_owned()];
    for key in held {
        kv.release(key, &holder).await?;
    }
    Ok(())
}

/// How long a routed call's channels and credit stay held without its CDR: its
/// longest call allowed and a minute of ringing.
fn hold_for(decision: &Decision) -> Duration {
    Duration::from_secs(u64::from(decision.max_duration_s.min(86_400)) + 60)
}

/// The CPS and channel caps; `None` when the call was refused (its slots given back),
/// else the semaphores it holds.
async fn apply_caps(
    kv: &Kv,
    table: &RoutingTable,
    call_id: &str,
    decision: &mut Decision,
) -> Result<Option<Vec<String>>, KvError> {
    let Some(ingress) = decision.customer_interconnect else {
        return Ok(Some(Vec::new()));
    };
    let ingress_caps = table.caps(ingress).unwrap_or((0, 0));
    let carrier_caps = decision
        .customer_carrier
        .map_or((0, 0), |c| table.carrier_caps(c));
    let egress_caps: Vec<u32> = decision
        .routes
        .iter()
        .map(|r| table.caps(r.supplier_interconnect).map_or(0, |c| c.1))
        .collect();
    let mut held: Vec<String> = Vec::new();
    if ingress_caps == (0, 0) && carrier_caps == (0, 0) && egress_caps.iter().all(|c| *c == 0) {
        return Ok(Some(held));
    }
    let callers = std::iter::once((Caller::Interconnect(ingress), ingress_caps)).chain(
        decision
            .customer_carrier
            .map(|c| (Caller::Carrier(c), carrier_caps)),
    );
    let name = |id: i64| table.party_name(id).unwrap_or_default();
    let hold = hold_for(decision);
    for (caller, (max_cps, max_channels)) in callers {
        let refusal = if max_cps > 0
            && kv
                .increment(
                    &format!("cps:{}:{}", caller.counted(), Utc::now().timestamp()),
                    Duration::from_secs(2),
                )
                .await?
                > i64::from(max_cps)
        {
            Some(format!(
                "{} is over its {max_cps} calls per second",
                caller.name(table)
            ))
        } else if max_channels > 0 {
            let key = caller.channel_key();
            if kv.acquire(&key, call_id, max_channels, hold).await? {
                held.push(key);
                None
            } else {
                Some(format!(
                    "all {max_channels} channels of {} are in use",
                    caller.name(table)
                ))
            }
        } else {
            None
        };
        if let Some(reason) = refusal {
            give_back(kv, &held, call_id).await?;
            super::refuse_capacity(decision, 503, reason);
            return Ok(None);
        }
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
        give_back(kv, &held, call_id).await?;
        super::refuse_capacity(
            decision,
            503,
            "no route left: every supplier's channels are in use".into(),
        );
        return Ok(None);
    }
    Ok(Some(held))
}

/// Gives back the channels and the credit the calls `call_ids` hold (their CDRs
/// arrived): one `MGET`, one release per semaphore or credit, one delete. Returns the
/// channel slots and credit reservations freed.
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
    for (held, holders) in by_semaphore {
        freed += if held.starts_with("credit:") {
            kv.settle(&held, &holders).await?
        } else {
            kv.release(&held, &holders).await?
        };
    }
    kv.delete_many(&found).await?;
    Ok(freed)
}
