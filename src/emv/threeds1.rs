//! 3-D Secure 1.0.2 in the browser: the PaReq/MD/TermUrl form to the ACS and the PaRes
//! status that comes back ([EMV-1] via BuilditMPI; transport per §5.2 of the reference).

use serde::{Deserialize, Serialize};

use super::form::FormPost;
use super::EmvError;

/// What the page POSTs to a 3DS1 ACS. `pa_req` is the deflated, base64 PaReq as the
/// provider gave it; `md` is opaque merchant data echoed back with the PaRes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaReqForm {
    pub acs_url: String,
    pub pa_req: String,
    pub md: String,
    pub term_url: String,
}

impl PaReqForm {
    pub fn form(&self) -> FormPost {
        FormPost::post(
            self.acs_url.clone(),
            [
                ("PaReq", self.pa_req.clone()),
                ("MD", self.md.clone()),
                ("TermUrl", self.term_url.clone()),
            ],
        )
    }
}

/// `TX.status` of a PaRes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum PaResStatus {
    /// Authenticated.
    Y,
    /// Attempted: proof of an attempt.
    A,
    /// Not authenticated.
    N,
    /// Unable to authenticate.
    U,
}
crate::unit_variant::deserialize_by_name!(PaResStatus { Y = "Y", A = "A", N = "N", U = "U" });

impl PaResStatus {
    pub fn parse(text: &str) -> Result<PaResStatus, EmvError> {
        match text {
            "Y" => Ok(PaResStatus::Y),
            "A" => Ok(PaResStatus::A),
            "N" => Ok(PaResStatus::N),
            "U" => Ok(PaResStatus::U),
            _ => Err(EmvError::InvalidField {
                field: "PaRes status",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            PaResStatus::Y => "Y",
            PaResStatus::A => "A",
            PaResStatus::N => "N",
            PaResStatus::U => "U",
        }
    }

    /// The 2.x status with the same meaning, so one outcome type serves both generations.
    pub fn trans_status(self) -> super::TransStatus {
        match self {
            PaResStatus::Y => super::TransStatus::Y,
            PaResStatus::A => super::TransStatus::A,
            PaResStatus::N => super::TransStatus::N,
            PaResStatus::U => super::TransStatus::U,
        }
    }
}
