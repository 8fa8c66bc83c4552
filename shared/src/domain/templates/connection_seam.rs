//! The one place templates touch the WhatsApp connection (built by the connection work): the
//! tenant's WABA id and its opened business token. The integrator replaces this body with the
//! connection API; nothing else in `templates` reads the connection item.

use secrecy::SecretString;

use crate::http::ApiError;
use crate::ports::Ports;
use crate::store::keys;

/// `(waba_id, token)`, or 409 `whatsapp_not_connected`.
pub async fn waba_and_token(ports: &Ports, tenant_id: &str) -> Result<(String, SecretString), ApiError> {
    let not_connected = || ApiError::conflict("whatsapp_not_connected", "connect a WhatsApp Business account first");
    let item = ports.table.get(&keys::whatsapp_account(tenant_id)).await?.ok_or_else(not_connected)?;
    let (Some(waba_id), Some(sealed)) = (item.get_str("waba_id"), item.get_str("sealed_token")) else {
        return Err(not_connected());
    };
    let token = ports.vault.open(tenant_id, sealed).await?;
    Ok((waba_id.to_string(), token))
}
