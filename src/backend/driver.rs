//! The driver: carries a session from one adapter step to the next. Every phase is
//! written to the store with compare-and-set *before* the backend acts on it (sends the
//! call, shows the browser step, answers the result), so a process that stops resumes
//! from the store, and of two actors racing on the same step (a double click, a replayed
//! return, a webhook beside the callback) the one that loses the swap changes nothing and
//! sends nothing. Calls that are safe to repeat get bounded retries; others go once.

use tracing::Instrument;

use super::host::{Env, Transport};
use super::observe::{CallOutcome, ProviderCall};
use super::providers::ProviderAdapter;
use super::Backend;
use crate::payment::{PaymentResult, PaymentStart, PaymentStatus, ResultCode};
use crate::provider::{
    answer, Context, HttpRequest, HttpResponse, ReturnRefused, Step, TransportFailure,
};
use crate::session::{AdapterState, Phase, Session, TransitionError};
use crate::store::{SessionStore, StoreError};

/// More provider calls than any flow makes (Paysafe's longest is seven): a loop.
const MAX_CALLS_PER_DRIVE: usize = 16;

/// The doubt a drive set out to clear: it began in `Phase::Unknown`.
struct Doubt {
    /// The call whose answer was lost (`bambora.payment`, …).
    purpose: String,
    lookups: u32,
    /// When that call was last sent.
    since_ms: u64,
    /// The adapter's state in doubt: what its next lookup starts from.
    state: AdapterState,
}

/// How a drive ended.
#[derive(Debug)]
pub(crate) enum Driven {
    /// This drive moved the session; here it is, as stored.
    Moved(Session),
    /// Another actor moved the session first (before this drive's first step, or between
    /// two of its steps); the session is the last one this drive stored or saw: reload
    /// it for the truth.
    Lost(Session),
    /// The provider refused what the browser brought back ([`Step::Refused`]): the
    /// session, as stored, waits on the same browser step again.
    Refused(Session, ReturnRefused),
}

impl Driven {
    /// The session as this drive left it, whatever the ending.
    pub(crate) fn session(self) -> Session {
        match self {
            Driven::Moved(s) | Driven::Lost(s) | Driven::Refused(s, _) => s,
        }
    }
}

pub(super) fn phase_name(phase: &Phase) -> &'static str {
    match phase {
        Phase::Created => "created",
        Phase::Starting => "starting",
        Phase::Calling { .. } => "calling",
        Phase::Unknown { .. } => "unknown",
        Phase::AwaitingBrowser { .. } => "awaiting_browser",
        Phase::Final { .. } => "final",
    }
}

fn expired_result() -> PaymentResult {
    PaymentResult::failed(PaymentStatus::Error, ResultCode::SessionExpired)
}

fn expired() -> Phase {
    Phase::Final {
        result: expired_result(),
    }
}

impl<S: SessionStore, T: Transport, E: Env> Backend<S, T, E> {
    pub(crate) fn context(&self, session: &Session) -> Context {
        Context {
            now_ms: self.env.now_ms(),
            session_id: session.id.clone(),
            public_url: self.config.public_url().to_owned(),
        }
    }

    /// Writes `phase` as the session's next version. `Ok(None)`: someone else moved it.
    /// A session that expired meanwhile (since the route settled it) ends as its expiry
    /// ends it ([`Backend::expiry_phase`]) instead of moving on.
    async fn persist(
        &self,
        session: &Session,
        phase: Phase,
    ) -> Result<Option<Session>, StoreError> {
        let now = self.env.now_ms();
        // A step back to the browser (a read that found the payer still on the provider's
        // page) that comes too late ends as that wait's expiry would; any other, as the
        // stored phase's.
        let waiting = matches!(phase, Phase::AwaitingBrowser { .. }).then(|| phase.clone());
        let next = match session.advanced(phase, now) {
            Ok(next) => next,
            Err(TransitionError::Expired) => {
                let waiting = waiting.as_ref().unwrap_or(&session.phase);
                match session.advanced(self.expiry_phase(session, waiting), now) {
                    Ok(next) => next,
                    Err(_) => return Ok(None),
                }
            }
            Err(TransitionError::AlreadyFinal) => return Ok(None),
        };
        let next = next.with_wake_at(self.config.calls.lease_ms());
        if !self.swap_announced(&next).await? {
            tracing::info!(session = %session.id, version = next.version, "lost the race for this step; nothing done");
            return Ok(None);
        }
        if let Some(result) = next.result() {
            self.observer.payment_ended(next.provider, result.status);
        }
        match next.result() {
            Some(result) => tracing::info!(
                session = %next.id,
                provider = next.provider.as_str(),
                status = ?result.status,
                code = result.error.as_ref().map(|e| e.code.as_str()).unwrap_or("none"),
                "payment final"
            ),
            None => {
                tracing::debug!(session = %next.id, phase = phase_name(&next.phase), "session moved")
            }
        }
        Ok(Some(next))
    }

    /// What expiry makes of `session` in `phase` (its stored one, or the one a step was
    /// about to write): while it awaits the browser, its adapter's
    /// [`crate::provider::Adapter::on_expiry`] (dLocal's payer may still finish on
    /// dLocal's page: a doubt, cancelled there by its first lookup); otherwise
    /// `session_expired`.
    fn expiry_step(&self, session: &Session, phase: &Phase) -> Step<AdapterState> {
        match (phase, self.providers.get(session.provider)) {
            (Phase::AwaitingBrowser { state, .. }, Some(adapter)) => {
                adapter.on_expiry(state, &self.context(session))
            }
            _ => Step::Done(expired_result()),
        }
    }

    /// [`Backend::expiry_step`] as the phase to write, for a session found expired as a
    /// step was about to be written: a return that came just before the expiry and was
    /// driven just after it ends as the sweep would have ended the session, not as
    /// `session_expired` with a payment the payer may have finished at the provider.
    fn expiry_phase(&self, session: &Session, phase: &Phase) -> Phase {
        match self.expiry_step(session, phase) {
            Step::Done(result) => Phase::Final { result },
            Step::Unknown { state } => self.in_doubt(session, &mut None, state),
            // Session::advanced allows an expired session no new call.
            _ => expired(),
        }
    }

    /// Carries `session` from `step` to the next browser step, the final result, or a
    /// doubt (`Phase::Unknown`) the reconciler will clear.
    pub(crate) async fn drive(
        &self,
        adapter: &dyn ProviderAdapter,
        session: Session,
        step: Step<AdapterState>,
    ) -> Result<Driven, StoreError> {
        // Every line of the drive names the payment and its provider.
        let span = tracing::info_span!(
            "drive",
            payment = %session.id,
            provider = session.provider.as_str()
        );
        self.drive_steps(adapter, session, step)
            .instrument(span)
            .await
    }

    async fn drive_steps(
        &self,
        adapter: &dyn ProviderAdapter,
        mut session: Session,
        mut step: Step<AdapterState>,
    ) -> Result<Driven, StoreError> {
        // The doubt this drive set out to clear: a lookup whose answer is lost too keeps
        // the first call's purpose and time, and counts one more lookup.
        let mut doubt = match &session.phase {
            Phase::Unknown {
                state,
                purpose,
                lookups,
                since_ms,
                ..
            } => Some(Doubt {
                purpose: purpose.clone(),
                lookups: *lookups,
                since_ms: *since_ms,
                state: state.clone(),
            }),
            _ => None,
        };
        let mut looked_up = false;
        for _ in 0..MAX_CALLS_PER_DRIVE {
            let mut refusal = None;
            let (phase, call) = match step {
                Step::Unknown { state } => (self.in_doubt(&session, &mut doubt, state), None),
                Step::Done(result) => {
                    match self.not_believed_yet(&session, &result, &doubt, looked_up) {
                        Some(state) => (self.in_doubt(&session, &mut doubt, state), None),
                        None => (Phase::Final { result }, None),
                    }
                }
                Step::Browser { state, action } => (Phase::AwaitingBrowser { state, action }, None),
                Step::Refused {
                    state,
                    action,
                    refused,
                } => {
                    refusal = Some(refused);
                    (Phase::AwaitingBrowser { state, action }, None)
                }
                Step::Call { state, request } => (
                    Phase::Calling {
                        state: state.clone(),
                        purpose: request.purpose.to_owned(),
                    },
                    Some((state, request)),
                ),
            };
            let Some(next) = self.persist(&session, phase).await? else {
                return Ok(Driven::Lost(session));
            };
            session = next;
            let (Phase::Calling { .. }, Some((state, request))) = (&session.phase, call) else {
                return Ok(match refusal {
                    Some(refused) => Driven::Refused(session, refused),
                    None => Driven::Moved(session),
                });
            };
            let response = self.call(&session, &request).await;
            looked_up = doubt.is_some();
            if let (None, Ok(answer)) = (&session.card, &response) {
                // A token payment: the provider tells what card it was.
                session.card = adapter.card_of(answer);
            }
            step = adapter.on_response(&state, response, &self.context(&session));
        }
        let result = PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderBadResponse)
            .with_provider_error("too_many_calls", "the provider flow did not settle");
        Ok(
            match self.persist(&session, Phase::Final { result }).await? {
                Some(done) => Driven::Moved(done),
                None => Driven::Lost(session),
            },
        )
    }

    /// The adapter's first step for `payment` (`session` is `Starting`): its preparing
    /// call first when it asks for one ([`crate::provider::Adapter::prepare_start`]),
    /// so that start's own first request can carry the card.
    pub(crate) async fn first_step(
        &self,
        adapter: &dyn ProviderAdapter,
        payment: &PaymentStart,
        session: &Session,
    ) -> Step<AdapterState> {
        if let Some(request) = adapter.prepare_start(&self.context(session)) {
            let response = self.call(session, &request).await;
            if let Some(result) = adapter.on_prepared(response, &self.context(session)) {
                return Step::Done(result);
            }
        }
        adapter.start(payment, &self.context(session))
    }

    /// The doubt's state again when `result` is a lookup's "found nothing"
    /// ([`answer::not_found`]) that came sooner than `reconcile.not_found_after_ms` after
    /// the lost call: the provider may still be processing it, or its search not show it
    /// yet. `looked_up`: this drive sent a lookup (an adapter that knows without one, say
    /// because the lost call moved no money, is believed at once).
    fn not_believed_yet(
        &self,
        session: &Session,
        result: &PaymentResult,
        doubt: &Option<Doubt>,
        looked_up: bool,
    ) -> Option<AdapterState> {
        let doubt = doubt.as_ref().filter(|_| looked_up)?;
        let believed_from = doubt
            .since_ms
            .saturating_add(self.config.reconcile.not_found_after_ms);
        if self.env.now_ms() >= believed_from || !answer::is_not_found(result) {
            return None;
        }
        tracing::info!(
            session = %session.id, purpose = %doubt.purpose, believed_from_ms = believed_from,
            "the lookup found nothing yet; too soon after the lost call to believe it"
        );
        Some(doubt.state.clone())
    }

    /// The `Unknown` phase for a call whose answer `session` (in `Calling`) lost.
    fn in_doubt(&self, session: &Session, doubt: &mut Option<Doubt>, state: AdapterState) -> Phase {
        let now = self.env.now_ms();
        let (purpose, lookups, since_ms) = match doubt.take() {
            Some(doubt) => (
                doubt.purpose,
                doubt.lookups.saturating_add(1),
                doubt.since_ms,
            ),
            None => match &session.phase {
                // Its last attempt went out by now, and within the call lease of the
                // session going `Calling` (a call a stopped process left).
                Phase::Calling { purpose, .. } => {
                    let lease_end = session
                        .updated_at_ms
                        .saturating_add(self.config.calls.lease_ms());
                    (purpose.clone(), 0, now.min(lease_end))
                }
                _ => (String::from("unknown"), 0, now),
            },
        };
        tracing::warn!(session = %session.id, purpose = %purpose, lookups, "money call in doubt; it will be looked up");
        let next_lookup_at_ms = self
            .config
            .reconcile
            .next_doubt_lookup_at(now, lookups, since_ms);
        Phase::Unknown {
            state,
            purpose,
            lookups,
            next_lookup_at_ms,
            since_ms,
        }
    }

    /// Sends one provider call: retried (with backoff) after a timeout, a lost
    /// connection, a 5xx or a 429 only when the adapter marked it safe to repeat.
    pub(crate) async fn call(
        &self,
        session: &Session,
        request: &HttpRequest,
    ) -> Result<HttpResponse, TransportFailure> {
        let span = tracing::info_span!(
            "call",
            provider = session.provider.as_str(),
            step = request.purpose
        );
        self.call_attempts(session, request).instrument(span).await
    }

    async fn call_attempts(
        &self,
        session: &Session,
        request: &HttpRequest,
    ) -> Result<HttpResponse, TransportFailure> {
        let policy = self.config.calls;
        let attempts = if request.retry_safe {
            policy.attempts.max(1)
        } else {
            1
        };
        let mut attempt = 1;
        loop {
            let began = self.env.now_ms();
            let outcome = self.transport.send(request).await;
            self.observer.provider_call(&ProviderCall {
                provider: session.provider,
                call: request.purpose,
                outcome: match &outcome {
                    Ok(response) => CallOutcome::Answered(response.status),
                    Err(TransportFailure::Timeout) => CallOutcome::Timeout,
                    Err(_) => CallOutcome::Connection,
                },
                elapsed_ms: self.env.now_ms().saturating_sub(began),
            });
            let retryable = match &outcome {
                // Not taken (a 5xx, a 429): the same request again, after the backoff.
                Ok(response) => crate::provider::answer::not_taken(response.status),
                Err(_) => true,
            };
            // A call that answered 2xx at once is the common case and at debug: the
            // payment's own lines say what came of it, and a worker pays per log line
            // (docs/operations.md, "Levels"). A retry or any other status is at info.
            match &outcome {
                Ok(response) if attempt == 1 && (200..300).contains(&response.status) => {
                    tracing::debug!(
                        session = %session.id, purpose = request.purpose, attempt,
                        status = response.status, "provider answered"
                    )
                }
                Ok(response) => tracing::info!(
                    session = %session.id, purpose = request.purpose, attempt,
                    status = response.status, "provider answered"
                ),
                Err(failure) => tracing::warn!(
                    session = %session.id, purpose = request.purpose, attempt,
                    failure = ?failure, "provider did not answer"
                ),
            }
            if !retryable || attempt >= attempts {
                return outcome;
            }
            self.env.sleep(policy.backoff_ms * u64::from(attempt)).await;
            attempt += 1;
        }
    }

    /// `session`, once the actor moving it (another request, a webhook) has taken it to a
    /// browser step or its result: the page asked for the next step, not for "busy".
    /// Waits at most one call lease, polling the store ([`PollWaits`]).
    pub(crate) async fn settled(&self, mut session: Session) -> Result<Session, StoreError> {
        let deadline = self.env.now_ms() + self.config.calls.lease_ms();
        let mut waits = PollWaits::default();
        while matches!(session.phase, Phase::Starting | Phase::Calling { .. })
            && self.env.now_ms() < deadline
        {
            self.env.sleep(waits.next()).await;
            let Some(current) = self.store.load(&session.id).await? else {
                break;
            };
            session = self.settle(current).await?;
        }
        Ok(session)
    }

    /// Brings a loaded session up to date before a route acts on it: an expired session
    /// becomes `session_expired`; a session left `Starting` or `Calling` by a stopped
    /// process (older than the call lease) is resumed: the lost call's answer is taken as
    /// a dropped connection, which the adapter answers by repeating an idempotent call,
    /// ending the payment (a call that moved no money), or a doubt (`Unknown`); a doubt
    /// whose lookup is due is looked up.
    pub(crate) async fn settle(&self, session: Session) -> Result<Session, StoreError> {
        let now = self.env.now_ms();
        let stale = now.saturating_sub(session.updated_at_ms) > self.config.calls.lease_ms();
        let in_flight = matches!(session.phase, Phase::Starting | Phase::Calling { .. }) && !stale;
        if session.phase.is_final() || in_flight {
            return Ok(session);
        }
        let step = match &session.phase {
            Phase::Created | Phase::AwaitingBrowser { .. } if now < session.expires_at_ms => {
                return Ok(session)
            }
            Phase::Unknown {
                next_lookup_at_ms, ..
            } if now < *next_lookup_at_ms => return Ok(session),
            Phase::Unknown { state, .. } => {
                let Some(adapter) = self.providers.get(session.provider) else {
                    return Ok(session);
                };
                adapter.reconcile(state, &self.context(&session))
            }
            Phase::Created | Phase::AwaitingBrowser { .. } => {
                self.expiry_step(&session, &session.phase)
            }
            Phase::Starting => {
                tracing::warn!(session = %session.id, "resuming a session stopped before its first call");
                Step::Done(
                    PaymentResult::failed(PaymentStatus::Error, ResultCode::ProviderUnavailable)
                        .with_provider_error(
                            "interrupted",
                            "the backend stopped before the first provider call",
                        ),
                )
            }
            Phase::Calling { state, purpose } => {
                tracing::warn!(session = %session.id, purpose = %purpose, "resuming a call a stopped process left");
                let Some(adapter) = self.providers.get(session.provider) else {
                    return Ok(session);
                };
                let lost = Err(TransportFailure::Connection(
                    "the backend stopped during this call".into(),
                ));
                adapter.on_response(state, lost, &self.context(&session))
            }
            Phase::Final { .. } => return Ok(session),
        };
        self.drive_on(session, step).await
    }

    /// Drives `session` from `step`, and answers the session as stored afterwards.
    pub(crate) async fn drive_on(
        &self,
        session: Session,
        step: Step<AdapterState>,
    ) -> Result<Session, StoreError> {
        let id = session.id.clone();
        let Some(adapter) = self.providers.get(session.provider) else {
            // No adapter to call (the provider is no longer configured): an ending that
            // needs none (an expiry) is still stored; anything else waits.
            let Step::Done(result) = step else {
                return Ok(session);
            };
            return match self.persist(&session, Phase::Final { result }).await? {
                Some(done) => Ok(done),
                None => Ok(self.store.load(&id).await?.unwrap_or(session)),
            };
        };
        match self.drive(adapter, session, step).await? {
            Driven::Lost(s) => Ok(self.store.load(&id).await?.unwrap_or(s)),
            moved => Ok(moved.session()),
        }
    }
}

/// The waits between reads of a record another request is moving (a payment, an
/// operation): 20 ms first, each twice the last up to half a second, so that a long
/// provider call costs some hundred reads, not thousands (at the edge each is a Durable
/// Object call, counted against the request's subrequests).
pub(crate) struct PollWaits(u64);

impl Default for PollWaits {
    fn default() -> PollWaits {
        PollWaits(20)
    }
}

impl PollWaits {
    pub(crate) fn next(&mut self) -> u64 {
        let wait = self.0;
        self.0 = (wait * 2).min(500);
        wait
    }
}
