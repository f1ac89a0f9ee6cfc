//! Sessions in a `HashMap`: for tests, and for hosts that may forget on restart.

use std::collections::HashMap;
use std::sync::Mutex;

use super::{SessionStore, StoreError};
use crate::payment::ProviderKind;
use crate::session::Session;

#[derive(Debug, Default)]
pub struct MemoryStore {
    sessions: Mutex<HashMap<String, Session>>,
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MemoryStore {
    async fn create(&self, session: &Session) -> Result<(), StoreError> {
        let mut sessions = self.lock();
        let taken = sessions.contains_key(&session.id)
            || sessions
                .values()
                .any(|s| s.provider == session.provider && s.order_id == session.order_id);
        if taken {
            return Err(StoreError::Duplicate);
        }
        sessions.insert(session.id.clone(), session.clone());
        Ok(())
    }

    async fn load(&self, id: &str) -> Result<Option<Session>, StoreError> {
        Ok(self.lock().get(id).cloned())
    }

    async fn load_by_order(
        &self,
        provider: ProviderKind,
        order_id: &str,
    ) -> Result<Option<Session>, StoreError> {
        Ok(self
            .lock()
            .values()
            .find(|s| s.provider == provider && s.order_id == order_id)
            .cloned())
    }

    async fn swap(&self, next: &Session) -> Result<bool, StoreError> {
        let mut sessions = self.lock();
        match sessions.get_mut(&next.id) {
            Some(stored) if stored.version + 1 == next.version && !stored.phase.is_final() => {
                *stored = next.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn due(&self, now_ms: u64, limit: usize) -> Result<Vec<Session>, StoreError> {
        let mut due: Vec<Session> = self
            .lock()
            .values()
            .filter(|s| !s.phase.is_final() && s.wake_at_ms.is_some_and(|at| at <= now_ms))
            .cloned()
            .collect();
        due.sort_by_key(|s| s.wake_at_ms);
        due.truncate(limit);
        Ok(due)
    }
}
