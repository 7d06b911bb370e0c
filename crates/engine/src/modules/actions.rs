//! The catalog of actions and functions, in the shape of Dataverse's
//! Custom APIs: a name, a binding (unbound, an entity, or an entity's
//! collection), action or function, typed request parameters and response
//! properties, and the privilege it needs. A module registers an
//! [`Action`]; the Web API's dispatch and `$metadata`, `$batch` (through
//! the dispatch) and `relata module list` read the catalog, so an
//! operation is declared once.
//!
//! The catalog checks a request before the handler runs: the privilege,
//! unknown parameters, missing required ones and each value's JSON type.
//! A handler reads checked values through [`ActionRequest`].

use chrono::{DateTime, Utc};
use relata_metadata::{Entity, EntityRef, Schema};
use serde_json::{Map, Value as Json};
use uuid::Uuid;

use crate::error::{EngineError, Result};
use crate::session::{RecordInput, Session};

/// What an operation is bound to (Custom API `bindingtype`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// Called at the service root.
    Global,
    /// Called on one record of the entity.
    Entity(&'static str),
    /// Called on the entity's collection.
    EntityCollection(&'static str),
}

impl Binding {
    /// Custom API `bindingtype`: 0 Global, 1 Entity, 2 EntityCollection.
    pub fn number(self) -> i64 {
        match self {
            Binding::Global => 0,
            Binding::Entity(_) => 1,
            Binding::EntityCollection(_) => 2,
        }
    }

    pub fn entity(self) -> Option<&'static str> {
        match self {
            Binding::Global => None,
            Binding::Entity(e) | Binding::EntityCollection(e) => Some(e),
        }
    }
}

/// The type of a parameter or response property.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Boolean,
    DateTime,
    Decimal,
    Integer,
    String,
    Guid,
    StringArray,
    /// A Dataverse complex type (`QueryExpression`), passed as a JSON object.
    Complex(&'static str),
    /// A collection of a complex type.
    ComplexCollection(&'static str),
    /// Records of an entity type (`activityparty`), as JSON objects.
    EntityCollection(&'static str),
    /// A record of an entity type (`opportunityclose`), as a JSON object
    /// the API layer reads into a [`RecordInput`].
    Entity(&'static str),
    /// A reference to a record of any entity: `{"@odata.id": "accounts(…)"}`
    /// or `{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": …}`.
    EntityReference,
    /// A reference to a record of one entity (`transactioncurrency`).
    EntityReferenceOf(&'static str),
    /// A Dataverse enumeration (`AccessRights`): its member names, or a number.
    Enum(&'static str),
    /// Bytes, as base64 text.
    Binary,
}

impl ParamType {
    /// The OData type name (`Edm.String`, `Collection(mscrm.QueryExpression)`).
    pub fn edm(self) -> String {
        match self {
            ParamType::Boolean => "Edm.Boolean".into(),
            ParamType::DateTime => "Edm.DateTimeOffset".into(),
            ParamType::Decimal => "Edm.Decimal".into(),
            ParamType::Integer => "Edm.Int32".into(),
            ParamType::String => "Edm.String".into(),
            ParamType::Guid => "Edm.Guid".into(),
            ParamType::StringArray => "Collection(Edm.String)".into(),
            ParamType::Complex(t) => format!("mscrm.{t}"),
            ParamType::ComplexCollection(t) => format!("Collection(mscrm.{t})"),
            ParamType::EntityCollection(e) => format!("Collection(mscrm.{e})"),
            ParamType::Entity(e) | ParamType::EntityReferenceOf(e) => format!("mscrm.{e}"),
            ParamType::EntityReference => "mscrm.crmbaseentity".into(),
            ParamType::Enum(t) => format!("mscrm.{t}"),
            ParamType::Binary => "Edm.Binary".into(),
        }
    }

    /// Dataverse's Custom API type code (`customapirequestparameter.type`);
    /// `None` for a type Custom APIs have no code for.
    pub fn custom_api_type(self) -> Option<i64> {
        Some(match self {
            ParamType::Boolean => 0,
            ParamType::DateTime => 1,
            ParamType::Decimal => 2,
            ParamType::Entity(_) => 3,
            ParamType::EntityCollection(_) => 4,
            ParamType::EntityReference | ParamType::EntityReferenceOf(_) => 5,
            ParamType::Integer => 7,
            ParamType::String => 10,
            ParamType::StringArray => 11,
            ParamType::Guid => 12,
            ParamType::Complex(_) | ParamType::ComplexCollection(_) | ParamType::Enum(_) | ParamType::Binary => {
                return None
            }
        })
    }

    /// A short name for messages and `relata module list`.
    pub fn describe(self) -> String {
        match self {
            ParamType::Boolean => "a boolean".into(),
            ParamType::DateTime => "a date and time".into(),
            ParamType::Decimal => "a number".into(),
            ParamType::Integer => "a whole number".into(),
            ParamType::String => "a string".into(),
            ParamType::Guid => "a GUID".into(),
            ParamType::StringArray => "an array of strings".into(),
            ParamType::Complex(t) => format!("a {t} object"),
            ParamType::ComplexCollection(t) => format!("an array of {t} objects"),
            ParamType::EntityCollection(e) => format!("an array of {e} records"),
            ParamType::Entity(e) => format!("a {e} record"),
            ParamType::EntityReference => "a record reference".into(),
            ParamType::EntityReferenceOf(e) => format!("a reference to a {e} record"),
            ParamType::Enum(t) => format!("{t} member names"),
            ParamType::Binary => "base64 text".into(),
        }
    }

    /// Does this JSON value have the type? `null` is checked by the caller.
    fn accepts(self, v: &Json) -> bool {
        match self {
            ParamType::Boolean => v.is_boolean(),
            ParamType::DateTime => v.as_str().is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
            ParamType::Decimal => v.is_number(),
            // An option set value may come as `{"Value": n}`.
            ParamType::Integer => v.get("Value").unwrap_or(v).as_i64().is_some_and(|n| i32::try_from(n).is_ok()),
            ParamType::String => v.is_string(),
            ParamType::Guid => v.as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()),
            ParamType::StringArray => v.as_array().is_some_and(|a| a.iter().all(Json::is_string)),
            ParamType::Complex(_) => v.is_object(),
            ParamType::ComplexCollection(_) | ParamType::EntityCollection(_) => {
                v.as_array().is_some_and(|a| a.iter().all(Json::is_object))
            }
            ParamType::Entity(_) | ParamType::EntityReference | ParamType::EntityReferenceOf(_) => v.is_object(),
            ParamType::Enum(_) => v.is_string() || v.is_u64(),
            ParamType::Binary => v.is_string(),
        }
    }
}

/// A request parameter or a response property.
#[derive(Debug, Clone, PartialEq)]
pub struct Parameter {
    pub name: &'static str,
    pub kind: ParamType,
    pub optional: bool,
    /// The label of its input in a generated form (English, Russian);
    /// the name when absent.
    pub label: Option<(&'static str, &'static str)>,
}

/// What an operation answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Returns {
    Nothing,
    /// Properties of a `<Name>Response` complex type.
    Properties(Vec<Parameter>),
    /// One record of the entity (`GenerateQuoteFromOpportunity`).
    Entity(&'static str),
    /// Records of any entity, `Collection(crmbaseentity)`: references to
    /// records made (`QualifyLead`) or records not saved, with their values
    /// (`InstantiateTemplate`).
    Records,
}

/// An operation's code: runs in the caller's transaction, as the caller.
pub type ActionHandler = fn(&mut Session<'_, '_, '_>, &ActionRequest<'_>) -> Result<ActionResponse>;

/// What a handler answers, as its declaration says.
#[derive(Debug, Clone, PartialEq)]
pub enum ActionResponse {
    Empty,
    Properties(Map<String, Json>),
    Record(EntityRef),
    References(Vec<EntityRef>),
    /// Records made but not saved, by entity, with their values in the Web
    /// API's form (`InstantiateTemplate`).
    Drafts(Vec<(String, Map<String, Json>)>),
}

impl ActionResponse {
    /// One response property.
    pub fn property(name: &str, value: Json) -> ActionResponse {
        let mut m = Map::new();
        m.insert(name.to_string(), value);
        ActionResponse::Properties(m)
    }
}

/// Reads a record parameter (`OpportunityClose`) in the API's wire format;
/// the API layer that received the request supplies it.
pub trait RecordReader {
    fn record(&self, schema: &Schema, entity: &Entity, body: &Json) -> Result<RecordInput>;
}

/// An action or function a module offers.
#[derive(Clone)]
pub struct Action {
    pub name: &'static str,
    pub description: &'static str,
    /// A bound action's button label (see [`Action::label`]).
    pub label: Option<(&'static str, &'static str)>,
    /// The buttons that offer it on record pages.
    pub commands: Vec<Command>,
    pub binding: Binding,
    pub is_function: bool,
    /// A global privilege the caller must hold (`prvBulkDelete`).
    pub privilege: Option<&'static str>,
    pub parameters: Vec<Parameter>,
    pub returns: Returns,
    pub handler: ActionHandler,
    /// Filled in by the registry.
    pub module: &'static str,
}

impl Action {
    /// An unbound action; the builder methods say the rest.
    pub fn new(name: &'static str, handler: ActionHandler) -> Action {
        Action {
            name,
            description: "",
            label: None,
            commands: Vec::new(),
            binding: Binding::Global,
            is_function: false,
            privilege: None,
            parameters: Vec::new(),
            returns: Returns::Nothing,
            handler,
            module: "",
        }
    }

    pub fn describe(mut self, description: &'static str) -> Action {
        self.description = description;
        self
    }

    /// A button on the record page of the entity it is bound to, keyed
    /// `op_<name>`, whose form asks for its plain parameters (made when
    /// the action is registered); see [`Action::command`] for anything else.
    pub fn label(mut self, en: &'static str, ru: &'static str) -> Action {
        self.label = Some((en, ru));
        self
    }

    /// A button that offers the action on records of an entity.
    pub fn command(mut self, command: Command) -> Action {
        self.commands.push(command);
        self
    }

    /// Read with GET, no side effects.
    pub fn function(mut self) -> Action {
        self.is_function = true;
        self
    }

    pub fn bound(mut self, binding: Binding) -> Action {
        self.binding = binding;
        self
    }

    pub fn privilege(mut self, privilege: &'static str) -> Action {
        self.privilege = Some(privilege);
        self
    }

    /// A required parameter.
    pub fn param(mut self, name: &'static str, kind: ParamType) -> Action {
        self.parameters.push(Parameter { name, kind, optional: false, label: None });
        self
    }

    pub fn optional(mut self, name: &'static str, kind: ParamType) -> Action {
        self.parameters.push(Parameter { name, kind, optional: true, label: None });
        self
    }

    /// Labels the parameter declared last, for the form a button opens.
    pub fn labelled(mut self, en: &'static str, ru: &'static str) -> Action {
        if let Some(p) = self.parameters.last_mut() {
            p.label = Some((en, ru));
        }
        self
    }

    /// A property of the response (`JobId`).
    pub fn returns(mut self, name: &'static str, kind: ParamType) -> Action {
        let p = Parameter { name, kind, optional: false, label: None };
        match &mut self.returns {
            Returns::Properties(ps) => ps.push(p),
            _ => self.returns = Returns::Properties(vec![p]),
        }
        self
    }

    /// Answers with one record of `entity`.
    pub fn returns_entity(mut self, entity: &'static str) -> Action {
        self.returns = Returns::Entity(entity);
        self
    }

    /// Answers with records of any entity: references to records made, or
    /// records not saved.
    pub fn returns_records(mut self) -> Action {
        self.returns = Returns::Records;
        self
    }

    /// The response properties, if it answers with some.
    pub fn response(&self) -> &[Parameter] {
        match &self.returns {
            Returns::Properties(ps) => ps,
            _ => &[],
        }
    }

    /// The Dataverse name of the response complex type.
    pub fn response_type(&self) -> String {
        format!("{}Response", self.name)
    }

    /// Checks `params` against the declaration: names, presence, types.
    fn check(&self, params: &Map<String, Json>) -> Result<()> {
        if let Some(unknown) = params.keys().find(|k| !self.parameters.iter().any(|p| p.name == k.as_str())) {
            let known: Vec<&str> = self.parameters.iter().map(|p| p.name).collect();
            return Err(EngineError::Invalid(format!(
                "'{unknown}' is not a parameter of {}; it takes {}",
                self.name,
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
        for p in &self.parameters {
            match params.get(p.name) {
                None | Some(Json::Null) if p.optional => {}
                None | Some(Json::Null) => {
                    return Err(EngineError::Invalid(format!("{} needs the parameter '{}'", self.name, p.name)))
                }
                Some(v) if !p.kind.accepts(v) => {
                    return Err(EngineError::Invalid(format!(
                        "the parameter '{}' of {} must be {}",
                        p.name,
                        self.name,
                        p.kind.describe()
                    )))
                }
                Some(_) => {}
            }
        }
        Ok(())
    }
}

/// A button that offers an action on a record page, with a small form
/// for what the user decides. Where it is offered follows the entity's
/// lifecycle: the states the action's transitions start from.
#[derive(Debug, Clone)]
pub struct Command {
    /// The button's key on the page, unique per entity (`win`).
    pub key: String,
    pub entity: &'static str,
    pub label: (&'static str, &'static str),
    /// How the action is told which record.
    pub record: CommandRecord,
    /// The plain parameters the form asks for; empty: all of them.
    pub asks: Vec<&'static str>,
    /// Columns of the record parameter's entity the form asks for, each
    /// with the column of the page's record its input starts from.
    pub columns: Vec<(&'static str, Option<&'static str>)>,
    /// The integer parameter that takes the status reason to close with;
    /// the form offers the statuses of the state the action leads to.
    pub status: Option<&'static str>,
    /// Statuses not offered (a quote is revised by its own button).
    pub hidden_statuses: Vec<i32>,
    /// Starting values of the form's inputs.
    pub defaults: Vec<(&'static str, Json)>,
    /// Offered in these states only; empty: the states the action's
    /// transitions of the entity start from, or any state.
    pub states: Vec<i32>,
    /// After it runs, the page of the first returned record of these
    /// entities, in this order; else of the first returned record.
    pub opens: Vec<&'static str>,
}

/// How a command names the page's record to its action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandRecord {
    /// The action is bound to the record.
    Bound,
    /// A Guid parameter (`QuoteId`).
    Id(&'static str),
    /// A record parameter (`OpportunityClose`) whose lookup column
    /// (`opportunityid`) points at the record.
    Within(&'static str, &'static str),
}

impl Command {
    /// A button keyed `key` on `entity`'s records, for a bound action.
    pub fn on(entity: &'static str, key: impl Into<String>, en: &'static str, ru: &'static str) -> Command {
        Command {
            key: key.into(),
            entity,
            label: (en, ru),
            record: CommandRecord::Bound,
            asks: Vec::new(),
            columns: Vec::new(),
            status: None,
            hidden_statuses: Vec::new(),
            defaults: Vec::new(),
            states: Vec::new(),
            opens: Vec::new(),
        }
    }

    /// The record goes in this Guid parameter.
    pub fn record_id(mut self, param: &'static str) -> Command {
        self.record = CommandRecord::Id(param);
        self
    }

    /// The record is referred to by `column` of the record parameter `param`.
    pub fn record_in(mut self, param: &'static str, column: &'static str) -> Command {
        self.record = CommandRecord::Within(param, column);
        self
    }

    pub fn asks(mut self, params: &[&'static str]) -> Command {
        self.asks = params.to_vec();
        self
    }

    pub fn columns(mut self, columns: &[(&'static str, Option<&'static str>)]) -> Command {
        self.columns = columns.to_vec();
        self
    }

    pub fn status(mut self, param: &'static str, hidden: &[i32]) -> Command {
        self.status = Some(param);
        self.hidden_statuses = hidden.to_vec();
        self
    }

    pub fn default(mut self, param: &'static str, value: Json) -> Command {
        self.defaults.push((param, value));
        self
    }

    pub fn states(mut self, states: &[i32]) -> Command {
        self.states = states.to_vec();
        self
    }

    pub fn opens(mut self, entities: &[&'static str]) -> Command {
        self.opens = entities.to_vec();
        self
    }
}

/// A checked request: the bound record, if any, and the parameters.
pub struct ActionRequest<'a> {
    /// The operation's name (one handler may serve several).
    pub action: &'static str,
    pub target: Option<EntityRef>,
    pub params: Map<String, Json>,
    pub reader: &'a dyn RecordReader,
    pub schema: &'a Schema,
}

impl ActionRequest<'_> {
    /// The bound record (the catalog has checked that there is one).
    pub fn bound(&self) -> Result<Uuid> {
        self.target
            .as_ref()
            .map(|t| t.id)
            .ok_or_else(|| EngineError::Invalid("the operation is bound to a record".into()))
    }

    /// A required parameter (the catalog has checked it is present).
    pub fn required(&self, name: &str) -> Result<&Json> {
        self.json(name).ok_or_else(|| EngineError::Invalid(format!("the parameter '{name}' is required")))
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.json(name).map(|v| v.get("Value").unwrap_or(v)).and_then(Json::as_i64)
    }

    pub fn guid(&self, name: &str) -> Result<Uuid> {
        guid(self.required(name)?, name)
    }

    /// A record parameter, read by the API layer.
    pub fn record(&self, name: &str, entity: &str) -> Result<RecordInput> {
        let e = self
            .schema
            .entity(entity)
            .ok_or_else(|| EngineError::not_found(format!("Entity '{entity}' does not exist")))?;
        self.reader
            .record(self.schema, e, self.required(name)?)
            .map_err(|err| EngineError::Invalid(format!("{name}: {err}")))
    }

    /// A record-reference parameter, if given.
    pub fn reference(&self, name: &str) -> Result<Option<EntityRef>> {
        match self.json(name) {
            None => Ok(None),
            Some(v) => reference(self.schema, v, name).map(Some),
        }
    }

    pub fn json(&self, name: &str) -> Option<&Json> {
        self.params.get(name).filter(|v| !v.is_null())
    }

    pub fn string(&self, name: &str) -> Option<&str> {
        self.json(name).and_then(Json::as_str)
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        self.json(name).and_then(Json::as_bool)
    }

    pub fn datetime(&self, name: &str) -> Option<DateTime<Utc>> {
        self.string(name).and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.with_timezone(&Utc))
    }
}

/// A GUID value (quotes and braces tolerated, as clients send them).
pub fn guid(v: &Json, what: &str) -> Result<Uuid> {
    v.as_str()
        .and_then(|s| Uuid::parse_str(s.trim_matches(|c| c == '\'' || c == '{' || c == '}')).ok())
        .ok_or_else(|| EngineError::Invalid(format!("{what} must be a GUID")))
}

/// A record reference: `{"@odata.id": "accounts(…)"}` (an entity set and a
/// key) or `{"@odata.type": "Microsoft.Dynamics.CRM.account", "accountid": …}`.
pub fn reference(schema: &Schema, v: &Json, what: &str) -> Result<EntityRef> {
    let bad = |m: String| EngineError::Invalid(format!("{what}: {m}"));
    if let Some(url) = v.get("@odata.id").and_then(Json::as_str) {
        let tail = url.rsplit('/').next().unwrap_or(url);
        let (set, key) = tail
            .strip_suffix(')')
            .and_then(|t| t.split_once('('))
            .ok_or_else(|| bad(format!("'{url}' is not a record URL such as accounts(<id>)")))?;
        let e = schema.entity_by_set(set).ok_or_else(|| bad(format!("'{set}' is not an entity set")))?;
        let id = Uuid::parse_str(key).map_err(|_| bad(format!("'{key}' is not a GUID")))?;
        return Ok(EntityRef { entity: e.name().to_string(), id });
    }
    let ty = v
        .get("@odata.type")
        .and_then(Json::as_str)
        .ok_or_else(|| bad("needs \"@odata.type\" (Microsoft.Dynamics.CRM.<entity>) or \"@odata.id\"".into()))?;
    let name = ty.trim_start_matches('#').strip_prefix(NAMESPACE).unwrap_or(ty);
    let e = schema.entity(name).ok_or_else(|| bad(format!("'{ty}' is not an entity type")))?;
    let key =
        v.get(e.primary_id()).ok_or_else(|| bad(format!("the {name} record needs its key '{}'", e.primary_id())))?;
    Ok(EntityRef { entity: e.name().to_string(), id: guid(key, e.primary_id())? })
}

/// The namespace of Dataverse's operations and types.
pub const NAMESPACE: &str = "Microsoft.Dynamics.CRM.";

impl Session<'_, '_, '_> {
    /// Runs a catalog operation: checks the caller's privilege and the
    /// parameters, then the handler, in this transaction. `target` is the
    /// record a bound operation is called on.
    pub fn execute_action(
        &mut self,
        name: &str,
        target: Option<EntityRef>,
        params: Map<String, Json>,
        reader: &dyn RecordReader,
    ) -> Result<ActionResponse> {
        let org = self.org;
        let action =
            org.modules().action(name, target.as_ref().map(|t| t.entity.as_str())).ok_or_else(|| match &target {
                Some(t) => EngineError::Invalid(format!("'{name}' is not an operation bound to '{}'", t.entity)),
                None => EngineError::not_found(format!("There is no action or function named '{name}'")),
            })?;
        if let Some(p) = action.privilege {
            self.require_global(p)?;
        }
        action.check(&params)?;
        let schema = self.schema.clone();
        // State changes reserved to the action are allowed while it runs.
        let outer = self.action.replace(action.name);
        let result =
            (action.handler)(self, &ActionRequest { action: action.name, target, params, reader, schema: &schema });
        self.action = outer;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn noop(_: &mut Session<'_, '_, '_>, _: &ActionRequest<'_>) -> Result<ActionResponse> {
        Ok(ActionResponse::Empty)
    }

    fn params(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn requests_are_checked_against_the_declaration() {
        let a = Action::new("Send", noop)
            .param("To", ParamType::String)
            .optional("At", ParamType::DateTime)
            .optional("Count", ParamType::Integer)
            .optional("Queries", ParamType::ComplexCollection("QueryExpression"));
        assert!(a.check(&params(json!({"To": "x"}))).is_ok());
        assert!(a.check(&params(json!({"To": "x", "At": null}))).is_ok());
        let err = |v| a.check(&params(v)).unwrap_err().to_string();
        assert!(err(json!({})).contains("Send needs the parameter 'To'"));
        assert!(err(json!({"To": null})).contains("needs the parameter 'To'"));
        assert!(err(json!({"To": "x", "Cc": 1})).contains("'Cc' is not a parameter of Send; it takes To, At, Count"));
        assert!(err(json!({"To": 1})).contains("'To' of Send must be a string"));
        assert!(err(json!({"To": "x", "At": "tomorrow"})).contains("must be a date and time"));
        assert!(err(json!({"To": "x", "Count": 3_000_000_000u64})).contains("must be a whole number"));
        assert!(err(json!({"To": "x", "Queries": [1]})).contains("an array of QueryExpression objects"));
        assert_eq!(ParamType::ComplexCollection("QueryExpression").edm(), "Collection(mscrm.QueryExpression)");
    }
}
