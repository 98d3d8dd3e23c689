//! The hub's state machine, driven without a runtime: every test feeds it changes with made-up
//! times and reads the notices and timers it returns.

use std::{
    collections::HashSet,
    time::{Duration, Instant},
};

use super::{HubState, Output, Refused, TabId, Timer};
use crate::{
    live::{Ending, LiveEvent, Tab},
    model::{EndReason, NewSignIn, SecurityEventKind},
};

const WAIT: Duration = Duration::from_millis(600);

impl HubState {
    /// How many endings of `user_id` are kept (for tests of the memory bound).
    fn endings_kept(&self, user_id: &str) -> usize {
        self.users.get(user_id).map_or(0, |user| user.endings.len())
    }
}

fn tab(key: &str, user: &str, handle: &str) -> Tab {
    Tab { key: key.into(), user_id: user.into(), handle: handle.into() }
}

fn ending(kind: SecurityEventKind, handle: &str, ended: &[&str]) -> Ending {
    Ending { kind, handle: Some(handle.into()), ended_handles: ended.iter().map(|h| (*h).to_owned()).collect() }
}

fn told(outputs: &[Output]) -> Vec<(TabId, LiveEvent)> {
    outputs
        .iter()
        .filter_map(|output| match output {
            Output::Tell(id, event) => Some((*id, event.clone())),
            Output::WakeAfter(..) => None,
        })
        .collect()
}

fn reason_timer(outputs: &[Output]) -> Option<Timer> {
    outputs.iter().find_map(|output| match output {
        Output::WakeAfter(delay, timer @ Timer::Reason { .. }) if *delay == WAIT => Some(timer.clone()),
        _ => None,
    })
}

#[test]
fn a_recent_ending_of_other_sessions_does_not_explain_a_later_delete() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let _a = hub.watch(tab("ka", "alice", "ha")).unwrap();
    let c = hub.watch(tab("kc", "alice", "hc")).unwrap();
    hub.add_keys("alice", vec!["kb".into()]);
    hub.session_deleted("kb", now);
    hub.ending_recorded("alice", ending(SecurityEventKind::SignOutOthers, "ha", &["hb"]), now);
    // A second later, within any time window, alice's session C is deleted for another reason.
    let later = now + Duration::from_secs(1);
    let outputs = hub.session_deleted("kc", later);
    assert!(told(&outputs).is_empty(), "no reason yet: {outputs:?}");
    let timer = reason_timer(&outputs).expect("the tab waits for its own reason");
    assert_eq!(told(&hub.timer(timer)), vec![(c, LiveEvent::Ended(EndReason::Ended))]);
    assert!(told(&hub.session_deleted("ka", later)).is_empty(), "nor does it explain A's end");
}

#[test]
fn a_delete_reaches_only_the_tabs_of_that_session_once_its_reason_arrives() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let a1 = hub.watch(tab("ka", "alice", "ha")).unwrap();
    let a2 = hub.watch(tab("ka", "alice", "ha")).unwrap();
    let b = hub.watch(tab("kb", "alice", "hb")).unwrap();
    let _bob = hub.watch(tab("kz", "bob", "hz")).unwrap();

    let deleted = hub.session_deleted("ka", now);
    assert!(told(&deleted).is_empty());
    let mut ended = told(&hub.ending_recorded("alice", ending(SecurityEventKind::Revoke, "ha", &[]), now));
    ended.sort_unstable_by_key(|(id, _)| *id);
    assert_eq!(
        ended,
        vec![(a1, LiveEvent::Ended(EndReason::EndedFromAnotherDevice)), (a2, LiveEvent::Ended(EndReason::EndedFromAnotherDevice))]
    );
    let timer = reason_timer(&deleted).unwrap();
    assert!(hub.timer(timer).is_empty(), "the reason wait ends quietly once the reason came");
    let list = deleted.iter().find_map(|o| match o {
        Output::WakeAfter(_, timer @ Timer::ListChange { .. }) => Some(timer.clone()),
        _ => None,
    });
    assert_eq!(told(&hub.timer(list.unwrap())), vec![(b, LiveEvent::SessionsChanged)], "only the live session's tab refreshes");
    assert!(hub.session_deleted("ka", now).is_empty(), "a key deleted twice is told once");
}

#[test]
fn an_ending_recorded_before_the_delete_explains_it_at_once() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let b = hub.watch(tab("kb", "alice", "hb")).unwrap();
    hub.ending_recorded("alice", ending(SecurityEventKind::LogoutEverywhere, "ha", &["ha", "hb"]), now);
    let outputs = hub.session_deleted("kb", now + Duration::from_secs(1));
    assert_eq!(told(&outputs), vec![(b, LiveEvent::Ended(EndReason::SignedOutEverywhere))]);
    assert_eq!(reason_timer(&outputs), None);
}

#[test]
fn only_endings_are_remembered_and_only_for_a_while() {
    let start = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let _tab = hub.watch(tab("ka", "alice", "ha")).unwrap();
    for i in 0..1000 {
        hub.ending_recorded("alice", ending(SecurityEventKind::FailedLogin, "x", &[]), start + Duration::from_millis(i));
        hub.ending_recorded("alice", ending(SecurityEventKind::Login, "x", &[]), start + Duration::from_millis(i));
    }
    assert_eq!(hub.endings_kept("alice"), 0, "anyone who knows the email can cause these");
    for second in 0..60 {
        hub.ending_recorded("alice", ending(SecurityEventKind::Logout, "x", &[]), start + Duration::from_secs(second));
    }
    let kept = hub.endings_kept("alice");
    assert!(kept > 0 && kept <= 5, "pruned by age on every insert, not only on a delete: {kept}");
    hub.ending_recorded("bob", ending(SecurityEventKind::Logout, "x", &[]), start);
    assert_eq!(hub.endings_kept("bob"), 0, "unwatched users are not remembered");
}

#[test]
fn each_account_has_its_own_cap_within_the_instance_total() {
    let mut hub = HubState::new(5, 2, WAIT);
    let first = hub.watch(tab("ka", "alice", "ha")).unwrap();
    hub.watch(tab("kb", "alice", "hb")).unwrap();
    assert_eq!(hub.watch(tab("kc", "alice", "hc")), Err(Refused::AccountFull(2)));
    hub.watch(tab("kz", "bob", "hz")).unwrap();
    hub.watch(tab("kz", "bob", "hz")).unwrap();
    hub.watch(tab("ky", "carol", "hy")).unwrap();
    assert_eq!(hub.watch(tab("kx", "dave", "hx")), Err(Refused::InstanceFull(5)));
    hub.unwatch(first);
    assert!(hub.watch(tab("kc", "alice", "hc")).is_ok(), "a closed tab frees its place");
}

#[test]
fn keys_map_to_their_users_and_are_forgotten_with_the_last_tab() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let a = hub.watch(tab("ka", "alice", "ha")).unwrap();
    hub.add_keys("alice", vec!["kb".into()]);
    hub.add_keys("bob", vec!["kz".into()]);
    assert_eq!(hub.owners.get("kb").map(String::as_str), Some("alice"));
    assert!(!hub.owners.contains_key("kz"), "keys of unwatched users are not kept");
    assert!(!hub.session_deleted("kb", now).is_empty(), "a delete of a known key is handled");
    hub.unwatch(a);
    assert!(hub.owners.is_empty() && hub.users.is_empty() && hub.by_key.is_empty() && hub.tabs.is_empty());
}

#[test]
fn a_poll_reports_what_was_created_and_deleted() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    let a = hub.watch(tab("ka", "alice", "ha")).unwrap();
    hub.add_keys("alice", vec!["kb".into()]);
    let known_before = hub.known_keys("alice");
    let outputs = hub.reconcile("alice", &HashSet::from(["kb".to_owned(), "kc".to_owned()]), &known_before, now);
    let timer = reason_timer(&outputs).expect("ka was deleted");
    assert_eq!(told(&hub.timer(timer)), vec![(a, LiveEvent::Ended(EndReason::Ended))]);
    assert!(hub.owners.contains_key("kc") && !hub.owners.contains_key("ka"));
}

#[test]
fn a_session_created_while_a_poll_ran_is_not_told_it_ended() {
    let now = Instant::now();
    let mut hub = HubState::new(10, 10, WAIT);
    hub.watch(tab("ka", "alice", "ha")).unwrap();
    let known_before = hub.known_keys("alice");
    // A new session signs in and its tab connects while the poll's query runs; the answer
    // (taken before the sign-in) lists only ka.
    let fresh = hub.watch(tab("kn", "alice", "hn")).unwrap();
    let outputs = hub.reconcile("alice", &HashSet::from(["ka".to_owned()]), &known_before, now);
    assert!(reason_timer(&outputs).is_none(), "nothing was deleted: {outputs:?}");
    assert!(!told(&outputs).iter().any(|(id, event)| *id == fresh && matches!(event, LiveEvent::Ended(_))));
    assert!(hub.owners.contains_key("kn"), "the new session stays known");
}

#[test]
fn a_sign_in_is_told_to_every_tab_of_the_account_but_the_new_sessions_own() {
    let mut hub = HubState::new(100, 10, WAIT);
    let laptop = hub.watch(tab("kl", "alice", "laptop")).unwrap();
    let laptop_again = hub.watch(tab("kl", "alice", "laptop")).unwrap();
    let phone = hub.watch(tab("kp", "alice", "phone")).unwrap();
    let bob = hub.watch(tab("kb", "bob", "bobs")).unwrap();
    let sign_in = NewSignIn {
        handle: "phone".into(),
        device: "Chrome on Android".into(),
        ip: "10.2.0.5".into(),
        signed_in_at_ms: 1,
        new_device: true,
    };
    let mut heard: Vec<TabId> = told(&hub.sign_in_recorded("alice", sign_in.clone()))
        .into_iter()
        .map(|(id, event)| {
            assert_eq!(event, LiveEvent::NewSignIn(sign_in.clone()));
            id
        })
        .collect();
    heard.sort_unstable();
    assert_eq!(heard, [laptop, laptop_again], "not the phone's own tab, and not bob's");
    assert!(!heard.contains(&phone) && !heard.contains(&bob));
    assert!(hub.sign_in_recorded("carol", sign_in).is_empty(), "an account without tabs here costs nothing");
}
