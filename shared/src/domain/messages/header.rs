//! Templates with a media header (SPEC → Media and rich messages): `header: {kind, media_id | link,
//! filename?}` next to `variables` in `POST /messages`, campaigns and the trigger API.
//!
//! Checked at acceptance against the template's header format, so Meta's 132012 ("parameter
//! format does not match") never happens: a media-header template without `header`, a header of
//! another kind, a header for a template that has none, or a `media_id` that is not a ready file of
//! the tenant of that kind are 422s naming the field. A file goes to Meta like a free-form media
//! message's: the send worker uploads it (once per file and number, see `media::outbound`) and
//! puts Meta's id in the header parameter; a link is passed to Meta as `link`.
//!
//! The template's parameter schema keeps the media header as its first variable (Meta's send
//! order); callers give it as `header` and `variables` for the rest ([`without_header`]).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::domain::campaigns::mapping::Mapping;
use crate::domain::media::{self, MediaKind, MediaStatus, MessageMedia};
use crate::domain::templates::schema::{ParamKind, ParamSchema, Slot};
use crate::domain::{Error, FieldError, Kind, inbox};
use crate::ports::Ports;

/// The `header` of a template send, as given.
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = TemplateHeaderInput, example = json!({"kind": "document", "media_id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "filename": "INV-42.pdf"}))]
pub struct HeaderInput {
    /// `image`, `video` or `document`: the template's header format.
    pub kind: Option<String>,
    /// A ready file of the tenant of that kind (`POST /media`): uploaded to Meta and sent by id.
    pub media_id: Option<String>,
    /// An `https://` link Meta fetches itself; in a campaign also `{{contact.attributes.<key>}}`,
    /// a link per recipient.
    pub link: Option<String>,
    /// Documents: the name the customer sees (the upload's own otherwise).
    pub filename: Option<String>,
}

/// A checked header (what a campaign stores and shows).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[schema(as = TemplateHeader, example = json!({"kind": "document", "media_id": "med_01J9ZX3V8Q7K2M4N6P8R0T2W4Y", "filename": "INV-42.pdf"}))]
pub struct TemplateHeader {
    pub kind: MediaKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

impl From<&TemplateHeader> for HeaderInput {
    fn from(h: &TemplateHeader) -> Self {
        Self {
            kind: Some(h.kind.as_str().to_owned()),
            media_id: h.media_id.clone(),
            link: h.link.clone(),
            filename: h.filename.clone(),
        }
    }
}

/// Longest link taken (Meta's fetcher refuses longer ones in practice).
const MAX_LINK_CHARS: usize = 2048;

/// The template's media header kind (`IMAGE`, `VIDEO`, `DOCUMENT`), if it has one.
pub fn media_header(schema: &ParamSchema) -> Option<MediaKind> {
    schema.variables.iter().find(|v| v.component == Slot::Header).and_then(|v| match v.kind {
        ParamKind::Image => Some(MediaKind::Image),
        ParamKind::Video => Some(MediaKind::Video),
        ParamKind::Document => Some(MediaKind::Document),
        _ => None,
    })
}

/// The schema of what `variables` must hold: the template's without its media header (given as
/// `header` instead), positions renumbered.
pub fn without_header(schema: &ParamSchema) -> ParamSchema {
    if media_header(schema).is_none() {
        return schema.clone();
    }
    let mut out = schema.clone();
    out.variables.retain(|v| v.component != Slot::Header);
    out.count = out.count.saturating_sub(1);
    for (i, v) in out.variables.iter_mut().enumerate() {
        v.position = i + 1;
    }
    out
}

/// The header's shape: every problem, each under `field` (`template.header`, `header`).
/// `per_recipient`: a campaign's link may be a `{{contact.attributes.<key>}}` mapping.
pub fn shape(
    input: HeaderInput,
    field: &str,
    per_recipient: bool,
    errors: &mut Vec<FieldError>,
) -> Option<TemplateHeader> {
    let before = errors.len();
    let kind = match input.kind.as_deref().map(str::trim) {
        None | Some("") => {
            errors.push(FieldError::new(format!("{field}.kind"), "required", "image, video or document"));
            None
        }
        Some(k) => MediaKind::parse(k)
            .filter(|k| matches!(k, MediaKind::Image | MediaKind::Video | MediaKind::Document))
            .or_else(|| {
                errors.push(FieldError::new(format!("{field}.kind"), "invalid", "must be image, video or document"));
                None
            }),
    };
    let media_id = input.media_id.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty());
    let link = input.link.map(|l| l.trim().to_owned()).filter(|l| !l.is_empty());
    match (&media_id, &link) {
        (Some(_), Some(_)) => {
            errors.push(FieldError::new(field, "exclusive", "give either media_id or link, not both"));
        }
        (None, None) => errors.push(FieldError::new(
            format!("{field}.media_id"),
            "required",
            "the id of a file uploaded with POST /media (or a link)",
        )),
        (None, Some(l)) => {
            let mapped = per_recipient && matches!(Mapping::parse(&json!(l)), Ok(Mapping::Attribute(_)));
            let link = l.starts_with("https://") && l.chars().count() <= MAX_LINK_CHARS && !l.contains(' ');
            if !(mapped || link) {
                let hint = if per_recipient { " or {{contact.attributes.<key>}}" } else { "" };
                errors.push(FieldError::new(
                    format!("{field}.link"),
                    "invalid",
                    format!("must be an https:// link{hint}"),
                ));
            }
        }
        (Some(_), None) => {}
    }
    let filename = media::service::clean_filename(input.filename.as_deref());
    if filename.is_some() && kind.is_some_and(|k| k != MediaKind::Document) {
        errors.push(FieldError::new(
            format!("{field}.filename"),
            "not_allowed",
            "only a document header has a file name",
        ));
    }
    match kind {
        Some(kind) if errors.len() == before => Some(TemplateHeader { kind, media_id, link, filename }),
        _ => None,
    }
}

/// The header against the template (`schema`) and the tenant's files. `Ok(Some(file))` for a
/// header by `media_id`: the message's `media`, which the send worker uploads to Meta.
pub async fn check(
    ports: &Ports,
    tenant_id: &str,
    schema: &ParamSchema,
    header: Option<&TemplateHeader>,
    field: &str,
) -> Result<Option<MessageMedia>, Error> {
    let refuse =
        |f: String, code: &'static str, message: String| Error::validation(vec![FieldError::new(f, code, message)]);
    let header = match (media_header(schema), header) {
        (None, None) => return Ok(None),
        (None, Some(_)) => {
            return Err(refuse(
                field.into(),
                "no_media_header",
                "this template has no image, video or document header: leave header out".into(),
            ));
        }
        (Some(k), None) => {
            return Err(refuse(
                field.into(),
                "required",
                format!("this template's header is a {}: give {{kind, media_id | link}}", k.as_str()),
            ));
        }
        (Some(k), Some(h)) if h.kind != k => {
            return Err(refuse(
                format!("{field}.kind"),
                "kind_mismatch",
                format!("this template's header is a {}, not {}", k.as_str(), h.kind.as_str()),
            ));
        }
        (Some(_), Some(h)) => h,
    };
    let Some(media_id) = &header.media_id else { return Ok(None) };
    let id_field = format!("{field}.media_id");
    let item = match media::service::ready(ports, tenant_id, media_id, &inbox::Scope::All).await {
        Ok(item) => item,
        Err(e) if e.kind == Kind::NotFound => {
            return Err(refuse(id_field, "invalid_media_id", "is not a media item of this tenant".into()));
        }
        // Not ready, failed, expired, rejected: a 422 naming the field, with the file's reason.
        Err(e) if e.kind != Kind::Internal && e.kind != Kind::Unavailable => {
            return Err(refuse(id_field, e.code, e.message));
        }
        Err(e) => return Err(e),
    };
    if item.kind != header.kind {
        return Err(refuse(
            id_field,
            "kind_mismatch",
            format!("is a {} file, not {}", item.kind.as_str(), header.kind.as_str()),
        ));
    }
    Ok(Some(MessageMedia {
        id: item.id,
        kind: item.kind,
        status: MediaStatus::Ready,
        mime_type: Some(item.mime_type),
        filename: header.filename.clone().or(item.filename),
        error: None,
    }))
}

/// The header's value in the template's flat variables (its first), Meta's parameter object: our
/// media id until the send worker puts Meta's in ([`put_meta_id`]), or the link (`link`: a
/// campaign's, rendered for the recipient).
pub fn variable(header: &TemplateHeader, link: Option<&str>) -> Value {
    let mut object = match (&header.media_id, link.or(header.link.as_deref())) {
        (Some(id), _) => json!({"id": id}),
        (None, link) => json!({"link": link.unwrap_or_default()}),
    };
    if let Some(filename) = header.filename.as_deref().filter(|_| header.kind == MediaKind::Document) {
        object["filename"] = json!(filename);
    }
    object
}

/// `variables` with the header's value in front (the schema's order), for `schema::build`.
pub fn full_variables(header: Option<Value>, variables: &[Value]) -> Vec<Value> {
    header.into_iter().chain(variables.iter().cloned()).collect()
}

/// Puts Meta's id of the uploaded file into a stored template send's media header.
pub fn put_meta_id(template: &mut Value, meta_media_id: &str) {
    let Some(components) = template.get_mut("components").and_then(Value::as_array_mut) else { return };
    for component in components.iter_mut().filter(|c| c.get("type").and_then(Value::as_str) == Some("header")) {
        for p in component.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
            let kind = p.get("type").and_then(Value::as_str).unwrap_or_default().to_owned();
            if let Some(object) = p.get_mut(&kind).filter(|o| o.get("id").is_some()) {
                object["id"] = json!(meta_media_id);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::templates::model::ParameterFormat;
    use crate::domain::templates::schema::{build, derive};

    fn document_schema() -> ParamSchema {
        derive(
            &json!([
                {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::ZG9j"]}},
                {"type": "BODY", "text": "Hi {{1}}, your invoice {{2}}.", "example": {"body_text": [["Ana", "42"]]}}
            ]),
            ParameterFormat::Positional,
            "UTILITY",
        )
    }

    fn input(v: Value) -> HeaderInput {
        serde_json::from_value(v).expect("deserializes")
    }

    #[test]
    fn the_header_leaves_the_variables_and_comes_back_first() {
        let schema = document_schema();
        assert_eq!(media_header(&schema), Some(MediaKind::Document));
        let rest = without_header(&schema);
        assert_eq!((rest.count, rest.variables.len(), rest.variables[0].position), (2, 2, 1));
        let header = TemplateHeader {
            kind: MediaKind::Document,
            media_id: Some("med_1".into()),
            link: None,
            filename: Some("INV-42.pdf".into()),
        };
        let vars = full_variables(Some(variable(&header, None)), &[json!("Ana"), json!("42")]);
        let mut template = json!({"name": "invoice", "components": build(&schema, &vars)});
        assert_eq!(
            template["components"][0],
            json!({"type": "header", "parameters": [{"type": "document", "document": {"id": "med_1", "filename": "INV-42.pdf"}}]})
        );
        put_meta_id(&mut template, "1234567890");
        assert_eq!(template["components"][0]["parameters"][0]["document"]["id"], "1234567890");
        assert_eq!(template["components"][1]["parameters"][0]["text"], "Ana");
    }

    #[test]
    fn shapes() {
        let mut errors = Vec::new();
        let ok =
            shape(input(json!({"kind": "image", "link": "https://cdn.example/a.png"})), "header", false, &mut errors);
        assert!(ok.is_some() && errors.is_empty());
        let mapped = json!({"kind": "image", "link": "{{contact.attributes.photo}}"});
        assert!(shape(input(mapped.clone()), "header", true, &mut errors).is_some());
        assert!(shape(input(mapped), "template.header", false, &mut errors).is_none());
        assert_eq!(errors[0].field, "template.header.link");
        let mut errors = Vec::new();
        shape(
            input(json!({"kind": "audio", "media_id": "m", "link": "https://x.test/a"})),
            "header",
            false,
            &mut errors,
        );
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["header.kind", "header"]);
        let mut errors = Vec::new();
        shape(input(json!({"kind": "image", "media_id": "m", "filename": "a.png"})), "header", false, &mut errors);
        assert_eq!(errors[0].field, "header.filename");
        let mut errors = Vec::new();
        shape(input(json!({"kind": "video"})), "header", false, &mut errors);
        assert_eq!(errors[0].field, "header.media_id");
    }
}
