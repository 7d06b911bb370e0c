//! Metadata endpoints in the Dataverse shape: `EntityDefinitions`,
//! `Attributes`, `RelationshipDefinitions`, `GlobalOptionSetDefinitions`,
//! `$metadata` and `WhoAmI`.

use http::{HeaderName, Method, StatusCode};
use relata_engine::Session;
use relata_metadata::{
    AttrKind, AttributeDef, CascadeDelete, CascadeType, Entity, EntityDef, Label, LookupTarget, OptionDef,
    OptionSetDef, Ownership, RequiredLevel, Schema,
};
use rust_decimal::Decimal;
use serde_json::{json, Map, Value as Json};
use uuid::Uuid;

use super::{parse_body, query_param, ApiRequest, ApiResponse, Segment};
use crate::error::ApiError;

/// Stable metadata ids, derived from names.
pub fn metadata_id(kind: &str, name: &str) -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_OID, format!("relata:{kind}:{name}").as_bytes())
}

fn label_json(l: &Label) -> Json {
    let mut labels = vec![json!({"Label": l.en, "LanguageCode": 1033, "IsManaged": false})];
    if let Some(ru) = &l.ru {
        labels.push(json!({"Label": ru, "LanguageCode": 1049, "IsManaged": false}));
    }
    json!({"LocalizedLabels": labels, "UserLocalizedLabel": {"Label": l.en, "LanguageCode": 1033}})
}

fn label_from_json(v: Option<&Json>) -> Option<Label> {
    let labels = v?.get("LocalizedLabels")?.as_array()?;
    let mut out = Label::default();
    for l in labels {
        let text = l.get("Label").and_then(Json::as_str).unwrap_or_default().to_string();
        match l.get("LanguageCode").and_then(Json::as_i64) {
            Some(1049) => out.ru = Some(text),
            _ if out.en.is_empty() => out.en = text,
            _ => {}
        }
    }
    if out.en.is_empty() {
        out.en = out.ru.clone()?;
    }
    Some(out)
}

fn ownership_name(o: Ownership) -> &'static str {
    match o {
        Ownership::User => "UserOwned",
        Ownership::Organization => "OrganizationOwned",
        Ownership::None => "None",
    }
}

pub fn entity_json(e: &Entity) -> Map<String, Json> {
    let d = &e.def;
    let mut m = Map::new();
    m.insert("MetadataId".into(), json!(metadata_id("entity", &d.name)));
    m.insert("LogicalName".into(), json!(d.name));
    m.insert("SchemaName".into(), json!(d.schema_name));
    m.insert("EntitySetName".into(), json!(d.entity_set));
    m.insert("LogicalCollectionName".into(), json!(d.entity_set));
    m.insert("CollectionSchemaName".into(), json!(format!("{}s", d.schema_name)));
    m.insert("DisplayName".into(), label_json(&d.label));
    m.insert("DisplayCollectionName".into(), label_json(&d.plural_label));
    m.insert("Description".into(), label_json(&Label::new(d.description.clone().unwrap_or_default())));
    m.insert("PrimaryIdAttribute".into(), json!(d.primary_id));
    m.insert("PrimaryNameAttribute".into(), json!(d.primary_name));
    m.insert("ObjectTypeCode".into(), json!(d.object_type_code));
    m.insert("OwnershipType".into(), json!(ownership_name(d.ownership)));
    m.insert("IsCustomEntity".into(), json!(d.is_custom));
    m.insert("IsActivity".into(), json!(d.is_activity));
    m.insert("IsIntersect".into(), json!(d.is_intersect));
    m.insert("HasNotes".into(), json!(d.has_notes));
    m.insert("HasActivities".into(), json!(d.has_activities));
    m.insert("IsValidForAdvancedFind".into(), json!(!d.is_intersect));
    m
}

fn type_name(k: AttrKind) -> (&'static str, &'static str) {
    match k {
        AttrKind::String => ("StringAttributeMetadata", "StringType"),
        AttrKind::Memo => ("MemoAttributeMetadata", "MemoType"),
        AttrKind::Integer => ("IntegerAttributeMetadata", "IntegerType"),
        AttrKind::BigInt => ("BigIntAttributeMetadata", "BigIntType"),
        AttrKind::Decimal => ("DecimalAttributeMetadata", "DecimalType"),
        AttrKind::Money => ("MoneyAttributeMetadata", "MoneyType"),
        AttrKind::Double => ("DoubleAttributeMetadata", "DoubleType"),
        AttrKind::Boolean => ("BooleanAttributeMetadata", "BooleanType"),
        AttrKind::DateTime => ("DateTimeAttributeMetadata", "DateTimeType"),
        AttrKind::Picklist => ("PicklistAttributeMetadata", "PicklistType"),
        AttrKind::MultiSelectPicklist => ("MultiSelectPicklistAttributeMetadata", "MultiSelectPicklistType"),
        AttrKind::State => ("StateAttributeMetadata", "StateType"),
        AttrKind::Status => ("StatusAttributeMetadata", "StatusType"),
        AttrKind::Lookup => ("LookupAttributeMetadata", "LookupType"),
        AttrKind::Customer => ("LookupAttributeMetadata", "CustomerType"),
        AttrKind::Owner => ("LookupAttributeMetadata", "OwnerType"),
        AttrKind::Uniqueidentifier => ("UniqueIdentifierAttributeMetadata", "UniqueidentifierType"),
        AttrKind::File => ("StringAttributeMetadata", "StringType"),
        AttrKind::EntityName => ("EntityNameAttributeMetadata", "EntityNameType"),
    }
}

fn required_name(r: RequiredLevel) -> &'static str {
    match r {
        RequiredLevel::None => "None",
        RequiredLevel::Recommended => "Recommended",
        RequiredLevel::Application => "ApplicationRequired",
        RequiredLevel::System => "SystemRequired",
    }
}

fn option_set_json(os: &OptionSetDef) -> Json {
    json!({
        "MetadataId": metadata_id("optionset", &os.name),
        "Name": os.name,
        "IsGlobal": os.is_global,
        "IsCustomOptionSet": os.is_custom,
        "OptionSetType": "Picklist",
        "DisplayName": label_json(&os.display_name),
        "Options": os.options.iter().map(|o| json!({"Value": o.value, "Label": label_json(&o.label), "Color": o.color})).collect::<Vec<_>>(),
    })
}

pub fn attribute_json(schema: &Schema, e: &Entity, a: &AttributeDef) -> Map<String, Json> {
    let (odata_type, type_name) = type_name(a.kind);
    let mut m = Map::new();
    m.insert("@odata.type".into(), json!(format!("#Microsoft.Dynamics.CRM.{odata_type}")));
    m.insert("MetadataId".into(), json!(metadata_id("attribute", &format!("{}.{}", e.name(), a.name))));
    m.insert("LogicalName".into(), json!(a.name));
    m.insert("SchemaName".into(), json!(a.schema_name));
    m.insert("EntityLogicalName".into(), json!(e.name()));
    m.insert("AttributeType".into(), json!(a.kind.dataverse_name()));
    m.insert("AttributeTypeName".into(), json!({"Value": type_name}));
    m.insert("DisplayName".into(), label_json(&a.label));
    m.insert("Description".into(), label_json(&Label::new(a.description.clone().unwrap_or_default())));
    m.insert("RequiredLevel".into(), json!({"Value": required_name(a.required), "CanBeChanged": a.is_custom}));
    m.insert("IsCustomAttribute".into(), json!(a.is_custom));
    m.insert("IsPrimaryId".into(), json!(a.name == e.primary_id()));
    m.insert("IsPrimaryName".into(), json!(a.name == e.def.primary_name));
    m.insert("IsValidForCreate".into(), json!(a.valid_for_create && !a.read_only));
    m.insert("IsValidForUpdate".into(), json!(a.valid_for_update && !a.read_only));
    m.insert("IsValidForRead".into(), json!(true));
    m.insert("IsSecured".into(), json!(a.secured));
    let securable = relata_engine::can_be_secured(e, a);
    for k in ["CanBeSecuredForRead", "CanBeSecuredForCreate", "CanBeSecuredForUpdate"] {
        m.insert(k.into(), json!(securable));
    }
    if let Some(n) = a.max_length {
        m.insert("MaxLength".into(), json!(n));
    }
    if let Some(p) = a.precision {
        m.insert("Precision".into(), json!(p));
    }
    if let Some(v) = a.min {
        m.insert("MinValue".into(), super::json::decimal_json(v));
    }
    if let Some(v) = a.max {
        m.insert("MaxValue".into(), super::json::decimal_json(v));
    }
    if let Some(f) = &a.format {
        m.insert("Format".into(), json!(f));
    }
    if a.kind.is_lookup() {
        m.insert("Targets".into(), json!(a.targets.iter().map(|t| t.entity.clone()).collect::<Vec<_>>()));
    }
    if let Some(os) = a.option_set.as_deref().and_then(|n| schema.option_set(n)) {
        m.insert("OptionSet".into(), option_set_json(os));
    }
    m
}

/// Keeps the selected properties, and always the expandable `OptionSet`
/// (asked for with `$expand=OptionSet`).
fn select_keys(mut m: Map<String, Json>, select: Option<&[String]>) -> Map<String, Json> {
    if let Some(keys) = select {
        m.retain(|k, _| k.starts_with('@') || keys.iter().any(|s| s == k) || k == "MetadataId" || k == "OptionSet");
    }
    m
}

fn select_param(req: &ApiRequest) -> Option<Vec<String>> {
    query_param(&req.query, "$select").map(|s| s.split(',').map(|x| x.trim().to_string()).collect())
}

/// `(LogicalName='account')` or `(<MetadataId>)`.
fn find_entity<'s>(schema: &'s Schema, key: &str) -> Result<&'s Entity, ApiError> {
    let found = if let Some(v) = key.strip_prefix("LogicalName=") {
        schema.entity(v.trim_matches('\'')).map(|e| e.as_ref())
    } else {
        let id = Uuid::parse_str(key.trim_matches('\''))
            .map_err(|_| ApiError::bad_request(format!("'{key}' is not a valid key.")))?;
        schema.entities().find(|e| metadata_id("entity", e.name()) == id).map(|e| e.as_ref())
    };
    found.ok_or_else(|| ApiError::not_found(format!("Could not find an entity with key {key}.")))
}

fn find_attribute<'s>(e: &'s Entity, key: &str) -> Result<&'s AttributeDef, ApiError> {
    let found = if let Some(v) = key.strip_prefix("LogicalName=") {
        e.attribute(v.trim_matches('\''))
    } else {
        let id = Uuid::parse_str(key.trim_matches('\''))
            .map_err(|_| ApiError::bad_request(format!("'{key}' is not a valid key.")))?;
        e.attributes().iter().find(|a| metadata_id("attribute", &format!("{}.{}", e.name(), a.name)) == id)
    };
    found.ok_or_else(|| ApiError::not_found(format!("Could not find an attribute with key {key} on '{}'.", e.name())))
}

fn entity_filter(req: &ApiRequest) -> Option<String> {
    // The common form: $filter=LogicalName eq 'account'.
    let f = query_param(&req.query, "$filter")?;
    let v = f.trim().strip_prefix("LogicalName eq ")?;
    Some(v.trim().trim_matches('\'').to_string())
}

pub fn handle(s: &mut Session<'_, '_, '_>, req: &ApiRequest, segs: &[Segment]) -> Result<ApiResponse, ApiError> {
    let schema = s.schema.clone();
    let base = &req.base;
    let select = select_param(req);
    let expand_attrs =
        query_param(&req.query, "$expand").is_some_and(|e| e.split(',').any(|x| x.trim().starts_with("Attributes")));
    match (segs[0].name.as_str(), &segs[0].key, segs.len(), &req.method) {
        ("EntityDefinitions", None, 1, &Method::GET) => {
            let only = entity_filter(req);
            let value: Vec<Json> = schema
                .entities()
                .filter(|e| only.as_ref().is_none_or(|n| n == e.name()))
                .map(|e| {
                    let mut m = select_keys(entity_json(e), select.as_deref());
                    if expand_attrs {
                        m.insert(
                            "Attributes".into(),
                            Json::Array(
                                e.attributes().iter().map(|a| Json::Object(attribute_json(&schema, e, a))).collect(),
                            ),
                        );
                    }
                    Json::Object(m)
                })
                .collect();
            Ok(ApiResponse::json(
                StatusCode::OK,
                &json!({"@odata.context": format!("{base}/$metadata#EntityDefinitions"), "value": value}),
            ))
        }
        ("EntityDefinitions", None, 1, &Method::POST) => {
            let body = parse_body(req)?;
            let def = entity_from_json(&body)?;
            let name = def.name.clone();
            s.create_entity(def)?;
            let url = format!("{base}/EntityDefinitions({})", metadata_id("entity", &name));
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT).with_header(HeaderName::from_static("odata-entityid"), url))
        }
        ("EntityDefinitions", Some(key), 1, &Method::GET) => {
            let e = find_entity(&schema, key)?;
            let mut m = select_keys(entity_json(e), select.as_deref());
            if expand_attrs {
                m.insert(
                    "Attributes".into(),
                    Json::Array(e.attributes().iter().map(|a| Json::Object(attribute_json(&schema, e, a))).collect()),
                );
            }
            m.insert("@odata.context".into(), json!(format!("{base}/$metadata#EntityDefinitions/$entity")));
            Ok(ApiResponse::json(StatusCode::OK, &Json::Object(m)))
        }
        ("EntityDefinitions", Some(key), 2 | 3, _) if segs[1].name == "Attributes" => {
            let e = find_entity(&schema, key)?;
            // `…/Attributes(…)/Microsoft.Dynamics.CRM.PicklistAttributeMetadata`:
            // a type cast; only attributes of that type match.
            let cast = segs.get(2).map(|c| c.name.trim_start_matches("Microsoft.Dynamics.CRM.").to_string());
            if let Some(c) = &cast {
                if !c.ends_with("AttributeMetadata") || segs[2].key.is_some() {
                    return Err(ApiError::bad_request(format!(
                        "'{}' is not an attribute metadata type.",
                        segs[2].name
                    )));
                }
            }
            let matches_cast = |a: &AttributeDef| cast.as_deref().is_none_or(|c| type_name(a.kind).0 == c);
            match (&segs[1].key, &req.method) {
                (None, &Method::GET) => {
                    let value: Vec<Json> = e
                        .attributes()
                        .iter()
                        .filter(|a| matches_cast(a))
                        .map(|a| Json::Object(select_keys(attribute_json(&schema, e, a), select.as_deref())))
                        .collect();
                    Ok(ApiResponse::json(
                        StatusCode::OK,
                        &json!({"@odata.context": format!("{base}/$metadata#EntityDefinitions('{}')/Attributes", e.name()), "value": value}),
                    ))
                }
                (Some(akey), &Method::PUT | &Method::PATCH) if cast.is_none() => {
                    // Column updates turn field security on or off; the
                    // other properties of a column are fixed once created.
                    let body = parse_body(req)?;
                    let secured = body.get("IsSecured").and_then(Json::as_bool).ok_or_else(|| {
                        ApiError::bad_request(
                            "A column update needs IsSecured (true or false); other column properties cannot be changed.",
                        )
                    })?;
                    let name = find_attribute(e, akey)?.name.clone();
                    let entity = e.name().to_string();
                    s.set_secured(&entity, &name, secured)?;
                    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
                }
                (Some(akey), &Method::DELETE) if cast.is_none() => {
                    let name = find_attribute(e, akey)?.name.clone();
                    let entity = e.name().to_string();
                    s.delete_attribute(&entity, &name)?;
                    Ok(ApiResponse::empty(StatusCode::NO_CONTENT))
                }
                (Some(akey), &Method::GET) => {
                    let a = find_attribute(e, akey)?;
                    if !matches_cast(a) {
                        return Err(ApiError::not_found(format!(
                            "'{}' is not a {}.",
                            a.name,
                            cast.unwrap_or_default()
                        )));
                    }
                    let mut m = select_keys(attribute_json(&schema, e, a), select.as_deref());
                    m.insert(
                        "@odata.context".into(),
                        json!(format!("{base}/$metadata#EntityDefinitions('{}')/Attributes/$entity", e.name())),
                    );
                    Ok(ApiResponse::json(StatusCode::OK, &Json::Object(m)))
                }
                (None, &Method::POST) if cast.is_none() => {
                    let body = parse_body(req)?;
                    let attr = attribute_from_json(&body, &schema)?;
                    let name = attr.name.clone();
                    let entity = e.name().to_string();
                    s.create_attribute(&entity, attr)?;
                    let url = format!(
                        "{base}/EntityDefinitions({})/Attributes({})",
                        metadata_id("entity", &entity),
                        metadata_id("attribute", &format!("{entity}.{name}"))
                    );
                    Ok(ApiResponse::empty(StatusCode::NO_CONTENT)
                        .with_header(HeaderName::from_static("odata-entityid"), url))
                }
                _ => Err(ApiError::method_not_allowed("This metadata operation is not supported.")),
            }
        }
        ("EntityDefinitions", Some(key), 2, &Method::GET)
            if segs[1].name == "OneToManyRelationships" || segs[1].name == "ManyToOneRelationships" =>
        {
            let e = find_entity(&schema, key)?;
            let many_to_one = segs[1].name == "ManyToOneRelationships";
            let value: Vec<Json> = schema
                .one_to_many()
                .iter()
                .filter(
                    |r| if many_to_one { r.referencing_entity == e.name() } else { r.referenced_entity == e.name() },
                )
                .map(relationship_json)
                .collect();
            Ok(ApiResponse::json(StatusCode::OK, &json!({"value": value})))
        }
        ("RelationshipDefinitions", None, 1, &Method::GET) => {
            let mut value: Vec<Json> = schema.one_to_many().iter().map(relationship_json).collect();
            value.extend(schema.many_to_many().iter().map(|m| {
                json!({
                    "@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata",
                    "MetadataId": metadata_id("relationship", &m.name),
                    "SchemaName": m.name,
                    "IntersectEntityName": m.intersect_table,
                    "Entity1LogicalName": m.entity1,
                    "Entity1IntersectAttribute": m.entity1_column,
                    "Entity2LogicalName": m.entity2,
                    "Entity2IntersectAttribute": m.entity2_column,
                    "Entity1NavigationPropertyName": m.name,
                    "Entity2NavigationPropertyName": m.name,
                    "IsCustomRelationship": m.is_custom,
                    "RelationshipType": "ManyToManyRelationship",
                })
            }));
            Ok(ApiResponse::json(
                StatusCode::OK,
                &json!({"@odata.context": format!("{base}/$metadata#RelationshipDefinitions"), "value": value}),
            ))
        }
        ("RelationshipDefinitions", None, 1, &Method::POST) => {
            let body = parse_body(req)?;
            let (entity, attr, rel) = lookup_from_relationship(&body)?;
            s.create_attribute(&entity, attr)?;
            let url = format!("{base}/RelationshipDefinitions({})", metadata_id("relationship", &rel));
            Ok(ApiResponse::empty(StatusCode::NO_CONTENT).with_header(HeaderName::from_static("odata-entityid"), url))
        }
        ("GlobalOptionSetDefinitions", None, 1, &Method::GET) => {
            let value: Vec<Json> = schema.option_sets().filter(|o| o.is_global).map(|o| option_set_json(o)).collect();
            Ok(ApiResponse::json(
                StatusCode::OK,
                &json!({"@odata.context": format!("{base}/$metadata#GlobalOptionSetDefinitions"), "value": value}),
            ))
        }
        ("GlobalOptionSetDefinitions", Some(key), 1, &Method::GET) => {
            let name = key.strip_prefix("Name=").unwrap_or(key).trim_matches('\'');
            let os = schema
                .option_sets()
                .find(|o| o.is_global && (o.name == name || metadata_id("optionset", &o.name).to_string() == name))
                .ok_or_else(|| ApiError::not_found(format!("Could not find an option set named '{name}'.")))?;
            Ok(ApiResponse::json(StatusCode::OK, &option_set_json(os)))
        }
        _ => Err(ApiError::bad_request(format!("The metadata request '{}' is not supported.", req.path))),
    }
}

fn relationship_json(r: &relata_metadata::OneToMany) -> Json {
    let delete = match r.delete {
        CascadeDelete::Cascade => "Cascade",
        CascadeDelete::RemoveLink => "RemoveLink",
        CascadeDelete::Restrict => "Restrict",
    };
    json!({
        "@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata",
        "MetadataId": metadata_id("relationship", &r.name),
        "SchemaName": r.name,
        "ReferencedEntity": r.referenced_entity,
        "ReferencingEntity": r.referencing_entity,
        "ReferencingAttribute": r.referencing_attribute,
        "ReferencedEntityNavigationPropertyName": r.referenced_nav,
        "ReferencingEntityNavigationPropertyName": r.referencing_nav,
        "IsCustomRelationship": r.is_custom,
        "RelationshipType": "OneToManyRelationship",
        "CascadeConfiguration": {
            "Delete": delete,
            "Assign": r.cascade_assign.name(),
            "Share": r.cascade_share.name(),
            "Unshare": r.cascade_share.name(),
        },
    })
}

fn str_field<'a>(v: &'a Json, k: &str) -> Option<&'a str> {
    v.get(k).and_then(Json::as_str)
}

/// A Dataverse `EntityMetadata` body → an entity definition.
fn entity_from_json(v: &Json) -> Result<EntityDef, ApiError> {
    let schema_name =
        str_field(v, "SchemaName").ok_or_else(|| ApiError::bad_request("EntityMetadata needs a SchemaName."))?;
    let name = str_field(v, "LogicalName").map(str::to_string).unwrap_or_else(|| schema_name.to_lowercase());
    let label = label_from_json(v.get("DisplayName")).unwrap_or_else(|| Label::new(schema_name));
    let plural =
        label_from_json(v.get("DisplayCollectionName")).unwrap_or_else(|| Label::new(format!("{}s", label.en)));
    let ownership = match str_field(v, "OwnershipType").unwrap_or("UserOwned") {
        "UserOwned" | "TeamOwned" => Ownership::User,
        "OrganizationOwned" => Ownership::Organization,
        other => return Err(ApiError::bad_request(format!("OwnershipType '{other}' is not supported."))),
    };
    let mut attributes = Vec::new();
    let mut primary_name = str_field(v, "PrimaryNameAttribute").map(str::to_string);
    let empty = vec![];
    for a in v.get("Attributes").and_then(Json::as_array).unwrap_or(&empty) {
        let attr = attribute_from_json(a, &Schema::default())?;
        if a.get("IsPrimaryName").and_then(Json::as_bool) == Some(true) {
            primary_name = Some(attr.name.clone());
        }
        attributes.push(attr);
    }
    let primary_name = primary_name
        .ok_or_else(|| ApiError::bad_request("A new entity needs a primary name attribute (IsPrimaryName: true)."))?;
    let entity_set = str_field(v, "EntitySetName").map(str::to_string).unwrap_or_else(|| format!("{name}s"));
    Ok(EntityDef {
        name: name.clone(),
        schema_name: schema_name.to_string(),
        entity_set,
        label,
        plural_label: plural,
        description: label_from_json(v.get("Description")).map(|l| l.en),
        primary_id: format!("{name}id"),
        primary_name,
        ownership,
        is_custom: true,
        is_activity: v.get("IsActivity").and_then(Json::as_bool).unwrap_or(false),
        is_intersect: false,
        has_notes: v.get("HasNotes").and_then(Json::as_bool).unwrap_or(false),
        has_activities: v.get("HasActivities").and_then(Json::as_bool).unwrap_or(false),
        object_type_code: 10000 + (metadata_id("entity", &name).as_u128() % 10000) as i32,
        table: None,
        states: vec![],
        attributes,
        many_to_many: vec![],
        privilege_subject: None,
        license_group: None,
        read_privilege: None,
        system_managed: false,
        parties: Vec::new(),
        activity_type_mask: 1,
        form: Vec::new(),
        transitions: Vec::new(),
        areas: Vec::new(),
        search: None,
        indexes: Vec::new(),
    })
}

fn decimal_field(v: &Json, k: &str) -> Option<Decimal> {
    v.get(k).and_then(|x| x.to_string().trim_matches('"').parse().ok())
}

/// A Dataverse `AttributeMetadata` body (by `@odata.type`) → an attribute.
fn attribute_from_json(v: &Json, schema: &Schema) -> Result<AttributeDef, ApiError> {
    let odata_type = str_field(v, "@odata.type")
        .unwrap_or_default()
        .trim_start_matches('#')
        .trim_start_matches("Microsoft.Dynamics.CRM.");
    let schema_name =
        str_field(v, "SchemaName").ok_or_else(|| ApiError::bad_request("AttributeMetadata needs a SchemaName."))?;
    let kind = match odata_type {
        "StringAttributeMetadata" => AttrKind::String,
        "MemoAttributeMetadata" => AttrKind::Memo,
        "IntegerAttributeMetadata" => AttrKind::Integer,
        "BigIntAttributeMetadata" => AttrKind::BigInt,
        "DecimalAttributeMetadata" => AttrKind::Decimal,
        "MoneyAttributeMetadata" => AttrKind::Money,
        "DoubleAttributeMetadata" => AttrKind::Double,
        "BooleanAttributeMetadata" => AttrKind::Boolean,
        "DateTimeAttributeMetadata" => AttrKind::DateTime,
        "PicklistAttributeMetadata" => AttrKind::Picklist,
        "MultiSelectPicklistAttributeMetadata" => AttrKind::MultiSelectPicklist,
        "LookupAttributeMetadata" => AttrKind::Lookup,
        "" => {
            return Err(ApiError::bad_request(
                "AttributeMetadata needs an @odata.type such as Microsoft.Dynamics.CRM.StringAttributeMetadata.",
            ))
        }
        other => return Err(ApiError::bad_request(format!("Attributes of type '{other}' cannot be created."))),
    };
    let name = str_field(v, "LogicalName").map(str::to_string).unwrap_or_else(|| schema_name.to_lowercase());
    let mut a = AttributeDef::new(&name, kind, schema_name);
    a.schema_name = schema_name.to_string();
    a.label = label_from_json(v.get("DisplayName")).unwrap_or_else(|| Label::new(schema_name));
    a.description = label_from_json(v.get("Description")).map(|l| l.en).filter(|d| !d.is_empty());
    a.is_custom = true;
    a.required = match v.get("RequiredLevel").and_then(|r| r.get("Value")).and_then(Json::as_str) {
        Some("ApplicationRequired") => RequiredLevel::Application,
        Some("Recommended") => RequiredLevel::Recommended,
        Some("SystemRequired") => RequiredLevel::Application,
        _ => RequiredLevel::None,
    };
    a.max_length = v.get("MaxLength").and_then(Json::as_u64).map(|n| n as u32);
    a.precision = v.get("Precision").and_then(Json::as_u64).map(|n| n as u32);
    a.min = decimal_field(v, "MinValue");
    a.max = decimal_field(v, "MaxValue");
    a.format = str_field(v, "Format").map(str::to_string).or_else(|| str_field(v, "FormatName").map(str::to_string));
    if kind == AttrKind::DateTime {
        let f = v.get("Format").and_then(Json::as_str).unwrap_or("DateAndTime");
        a.format = Some(if f == "DateOnly" { "DateOnly".into() } else { "DateAndTime".into() });
    }
    if matches!(kind, AttrKind::Picklist | AttrKind::MultiSelectPicklist) {
        let os = v.get("OptionSet");
        if let Some(global) = os
            .and_then(|o| o.get("Name"))
            .and_then(Json::as_str)
            .filter(|_| os.and_then(|o| o.get("IsGlobal")).and_then(Json::as_bool) == Some(true))
        {
            if schema.option_set(global).is_none() {
                return Err(ApiError::bad_request(format!("The global option set '{global}' does not exist.")));
            }
            a.option_set = Some(global.to_string());
        } else {
            let empty = vec![];
            let options = os.and_then(|o| o.get("Options")).and_then(Json::as_array).unwrap_or(&empty);
            for (i, o) in options.iter().enumerate() {
                let value = o.get("Value").and_then(Json::as_i64).map(|x| x as i32).unwrap_or(100_000_000 + i as i32);
                let label = label_from_json(o.get("Label")).unwrap_or_else(|| Label::new(value.to_string()));
                a.options.push(OptionDef { value, label, color: None });
            }
        }
    }
    if kind == AttrKind::Lookup {
        let targets: Vec<String> = v
            .get("Targets")
            .and_then(Json::as_array)
            .map(|t| t.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        a.targets = targets
            .into_iter()
            .map(|t| LookupTarget {
                relationship: format!("{t}_{name}"),
                nav: name.clone(),
                entity: t,
                delete: CascadeDelete::RemoveLink,
                cascade_assign: CascadeType::NoCascade,
                cascade_share: CascadeType::NoCascade,
            })
            .collect();
    }
    Ok(a)
}

/// A `OneToManyRelationshipMetadata` body with its `Lookup` → (referencing
/// entity, lookup attribute, relationship name).
fn lookup_from_relationship(v: &Json) -> Result<(String, AttributeDef, String), ApiError> {
    let t = str_field(v, "@odata.type").unwrap_or_default();
    if !t.ends_with("OneToManyRelationshipMetadata") {
        return Err(ApiError::bad_request("Only OneToManyRelationshipMetadata can be created here."));
    }
    let rel =
        str_field(v, "SchemaName").ok_or_else(|| ApiError::bad_request("The relationship needs a SchemaName."))?;
    let referenced = str_field(v, "ReferencedEntity")
        .ok_or_else(|| ApiError::bad_request("The relationship needs ReferencedEntity."))?;
    let referencing = str_field(v, "ReferencingEntity")
        .ok_or_else(|| ApiError::bad_request("The relationship needs ReferencingEntity."))?;
    let lookup = v.get("Lookup").ok_or_else(|| ApiError::bad_request("The relationship needs a Lookup attribute."))?;
    let mut l = lookup.clone();
    if let Some(o) = l.as_object_mut() {
        o.insert("@odata.type".into(), json!("Microsoft.Dynamics.CRM.LookupAttributeMetadata"));
    }
    let mut attr = attribute_from_json(&l, &Schema::default())?;
    let delete = match v.get("CascadeConfiguration").and_then(|c| c.get("Delete")).and_then(Json::as_str) {
        Some("Cascade") => CascadeDelete::Cascade,
        Some("Restrict") => CascadeDelete::Restrict,
        _ => CascadeDelete::RemoveLink,
    };
    let nav = str_field(v, "ReferencingEntityNavigationPropertyName")
        .map(str::to_string)
        .unwrap_or_else(|| attr.name.clone());
    let cascade = |k: &str| -> Result<CascadeType, ApiError> {
        match v.get("CascadeConfiguration").and_then(|c| c.get(k)).and_then(Json::as_str) {
            None => Ok(CascadeType::NoCascade),
            Some(name) => CascadeType::from_name(name).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "CascadeConfiguration.{k} '{name}' is not one of NoCascade, Cascade, Active, UserOwned."
                ))
            }),
        }
    };
    attr.targets = vec![LookupTarget {
        entity: referenced.to_string(),
        relationship: rel.to_string(),
        nav,
        delete,
        cascade_assign: cascade("Assign")?,
        cascade_share: cascade("Share")?,
    }];
    Ok((referencing.to_string(), attr, rel.to_string()))
}

pub fn who_am_i(s: &mut Session<'_, '_, '_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed("WhoAmI is a function; use GET."));
    }
    Ok(ApiResponse::json(
        StatusCode::OK,
        &json!({
            "@odata.context": format!("{}/$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse", req.base),
            "BusinessUnitId": s.principal.business_unit_id,
            "UserId": s.principal.user_id,
            "OrganizationId": s.org.ids.organization,
        }),
    ))
}

pub fn csdl_response(s: &mut Session<'_, '_, '_>, req: &ApiRequest) -> Result<ApiResponse, ApiError> {
    if req.method != Method::GET {
        return Err(ApiError::method_not_allowed("$metadata is read-only."));
    }
    let xml = super::csdl::csdl(&s.schema, s.org.modules().actions());
    Ok(ApiResponse::text(StatusCode::OK, "application/xml", xml))
}
