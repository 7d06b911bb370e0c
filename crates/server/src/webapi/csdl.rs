//! `$metadata`: the CSDL document describing every entity, custom ones
//! included, in the `Microsoft.Dynamics.CRM` namespace as Dataverse does.

use std::fmt::Write;

use relata_metadata::{AttrKind, AttributeDef, Nav, Schema};

fn edm_type(a: &AttributeDef) -> String {
    match a.kind {
        AttrKind::String | AttrKind::Memo | AttrKind::EntityName | AttrKind::MultiSelectPicklist | AttrKind::File => {
            "Edm.String".into()
        }
        AttrKind::Integer | AttrKind::Picklist | AttrKind::State | AttrKind::Status => "Edm.Int32".into(),
        AttrKind::BigInt => "Edm.Int64".into(),
        AttrKind::Decimal | AttrKind::Money => "Edm.Decimal".into(),
        AttrKind::Double => "Edm.Double".into(),
        AttrKind::Boolean => "Edm.Boolean".into(),
        AttrKind::DateTime if a.is_date_only() => "Edm.Date".into(),
        AttrKind::DateTime => "Edm.DateTimeOffset".into(),
        AttrKind::Lookup | AttrKind::Customer | AttrKind::Owner | AttrKind::Uniqueidentifier => "Edm.Guid".into(),
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('"', "&quot;")
}

pub fn csdl(schema: &Schema, catalog: &[relata_engine::modules::Action]) -> String {
    let (catalog_types, catalog_imports) = super::catalog::csdl(catalog);
    let mut x = String::with_capacity(512 * 1024);
    x.push_str(r#"<?xml version="1.0" encoding="utf-8"?>"#);
    x.push_str(r#"<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>"#);
    x.push_str(
        r#"<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">"#,
    );
    x.push_str(r#"<EntityType Name="crmbaseentity" Abstract="true"/>"#);
    let mut entities: Vec<_> = schema.entities().collect();
    entities.sort_by(|a, b| a.name().cmp(b.name()));
    for e in &entities {
        let _ = write!(x, r#"<EntityType Name="{}" BaseType="mscrm.crmbaseentity">"#, esc(e.name()));
        let _ = write!(x, r#"<Key><PropertyRef Name="{}"/></Key>"#, esc(e.primary_id()));
        for a in e.attributes() {
            let name = if a.kind.is_lookup() { a.lookup_value_name() } else { a.name.clone() };
            let _ = write!(x, r#"<Property Name="{}" Type="{}""#, esc(&name), edm_type(a));
            if matches!(a.kind, AttrKind::Decimal | AttrKind::Money) {
                let _ = write!(x, r#" Scale="{}""#, relata_metadata::decimal_scale(a));
            }
            if a.name == e.primary_id() {
                x.push_str(r#" Nullable="false""#);
            }
            x.push_str("/>");
        }
        let mut navs: Vec<_> = e.navs().collect();
        navs.sort_by(|a, b| a.0.cmp(b.0));
        for (name, nav) in navs {
            match nav {
                Nav::Single { attribute, target, relationship } => {
                    let target_pk = schema.entity(target).map(|t| t.primary_id().to_string()).unwrap_or_default();
                    let _ = write!(
                        x,
                        r#"<NavigationProperty Name="{}" Type="mscrm.{}" Nullable="false" Partner="{}"><ReferentialConstraint Property="_{}_value" ReferencedProperty="{}"/></NavigationProperty>"#,
                        esc(name),
                        esc(target),
                        esc(relationship),
                        esc(attribute),
                        esc(&target_pk)
                    );
                }
                Nav::Collection { entity, attribute, .. } => {
                    let partner = schema
                        .entity(entity)
                        .and_then(|c| c.navs().find(|(_, n)| matches!(n, Nav::Single { attribute: a, target, .. } if a == attribute && target == e.name())).map(|(n, _)| n.clone()))
                        .unwrap_or_default();
                    let _ = write!(
                        x,
                        r#"<NavigationProperty Name="{}" Type="Collection(mscrm.{})" Partner="{}"/>"#,
                        esc(name),
                        esc(entity),
                        esc(&partner)
                    );
                }
                Nav::ManyToMany { entity, .. } => {
                    let _ = write!(
                        x,
                        r#"<NavigationProperty Name="{}" Type="Collection(mscrm.{})" Partner="{}"/>"#,
                        esc(name),
                        esc(entity),
                        esc(name)
                    );
                }
            }
        }
        x.push_str("</EntityType>");
    }
    x.push_str(r#"<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType>"#);
    x.push_str(r#"<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>"#);
    x.push_str(super::multiple::CSDL);
    x.push_str(SECURITY_TYPES);
    x.push_str(super::catalog::QUERY_TYPES);
    x.push_str(&catalog_types);
    x.push_str(r#"<EntityContainer Name="System">"#);
    for e in entities.iter() {
        let _ = write!(
            x,
            r#"<EntitySet Name="{}" EntityType="Microsoft.Dynamics.CRM.{}">"#,
            esc(&e.def.entity_set),
            esc(e.name())
        );
        let mut navs: Vec<_> = e.navs().collect();
        navs.sort_by(|a, b| a.0.cmp(b.0));
        for (name, nav) in navs {
            let target = match nav {
                Nav::Single { target, .. } => target,
                Nav::Collection { entity, .. } | Nav::ManyToMany { entity, .. } => entity,
            };
            if let Some(t) = schema.entity(target) {
                let _ = write!(
                    x,
                    r#"<NavigationPropertyBinding Path="{}" Target="{}"/>"#,
                    esc(name),
                    esc(&t.def.entity_set)
                );
            }
        }
        x.push_str("</EntitySet>");
    }
    x.push_str(r#"<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI"/>"#);
    x.push_str(&catalog_imports);
    x.push_str("</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>");
    x
}

/// The security model's enumerations and complex types, which the
/// catalog's security operations use.
const SECURITY_TYPES: &str = concat!(
    r#"<EnumType Name="AccessRights" IsFlags="true" UnderlyingType="Edm.Int32">"#,
    r#"<Member Name="None" Value="0"/><Member Name="ReadAccess" Value="1"/><Member Name="WriteAccess" Value="2"/>"#,
    r#"<Member Name="AppendAccess" Value="4"/><Member Name="AppendToAccess" Value="16"/><Member Name="CreateAccess" Value="32"/>"#,
    r#"<Member Name="DeleteAccess" Value="65536"/><Member Name="ShareAccess" Value="262144"/><Member Name="AssignAccess" Value="524288"/>"#,
    r#"</EnumType>"#,
    r#"<EnumType Name="PrivilegeDepth"><Member Name="Basic" Value="0"/><Member Name="Local" Value="1"/>"#,
    r#"<Member Name="Deep" Value="2"/><Member Name="Global" Value="3"/></EnumType>"#,
    r#"<ComplexType Name="PrincipalAccess"><Property Name="AccessMask" Type="mscrm.AccessRights" Nullable="false"/>"#,
    r#"<NavigationProperty Name="Principal" Type="mscrm.crmbaseentity" Nullable="false"/></ComplexType>"#,
    r#"<ComplexType Name="RolePrivilege"><Property Name="Depth" Type="mscrm.PrivilegeDepth" Nullable="false"/>"#,
    r#"<Property Name="PrivilegeId" Type="Edm.Guid" Nullable="false"/><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/>"#,
    r#"<Property Name="PrivilegeName" Type="Edm.String"/></ComplexType>"#,
);
