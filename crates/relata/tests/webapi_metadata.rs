//! `$metadata`, EntityDefinitions, custom columns and tables, WhoAmI.

mod common;

use common::{each_server, enc, uid, uid_alpha};
use serde_json::{json, Value};
use uuid::Uuid;

fn label(text: &str) -> Value {
    json!({ "@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": [
        { "@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033 }
    ]})
}

#[test]
fn csdl_metadata_document() {
    each_server(|srv| {
        let r = srv.send(srv.req(reqwest::Method::GET, "/$metadata").header("Accept", "application/xml"));
        r.expect(200);
        let ct = r.header("Content-Type").unwrap_or_default();
        assert!(ct.starts_with("application/xml"), "Content-Type {ct}");
        let xml = r.text();
        assert!(xml.starts_with("<?xml"), "XML declaration: {}", &xml[..xml.len().min(200)]);
        assert!(xml.contains("<edmx:Edmx") && xml.contains("Version=\"4.0\""), "edmx root");
        assert!(xml.contains("Namespace=\"Microsoft.Dynamics.CRM\""), "namespace");
        assert!(xml.contains("<EntityType Name=\"account\""), "account type");
        assert!(xml.contains("<EntityType Name=\"contact\""), "contact type");
        assert!(xml.contains("<EntityContainer"), "container");
        assert!(xml.contains("<Property Name=\"revenue\" Type=\"Edm.Decimal\""), "money is Edm.Decimal");
        assert!(xml.contains("<Property Name=\"_primarycontactid_value\" Type=\"Edm.Guid\""), "lookup value property");
        assert!(xml.contains("<NavigationProperty Name=\"primarycontactid\""), "single-valued navigation");
        assert!(xml.contains("<NavigationProperty Name=\"contact_customer_accounts\""), "collection navigation");
        assert!(xml.contains("<Function Name=\"WhoAmI\""), "WhoAmI function");

        // Every entity set the service lists is in the document.
        let defs = srv.get("/EntityDefinitions?$select=LogicalName,EntitySetName").rows();
        assert!(defs.len() >= 20, "{} entity definitions", defs.len());
        for d in &defs {
            if let Some(set) = d["EntitySetName"].as_str() {
                assert!(xml.contains(&format!("<EntitySet Name=\"{set}\"")), "EntitySet {set} missing from $metadata");
            }
        }
        // Every type the document names is declared in it (the catalog's
        // operations name entity, complex and enumeration types).
        let mut declared = std::collections::HashSet::new();
        for kind in ["EntityType", "ComplexType", "EnumType"] {
            for t in xml.split(&format!("<{kind} Name=\"")).skip(1) {
                declared.insert(t.split('"').next().unwrap().to_string());
            }
        }
        for used in xml.split("Type=\"").skip(1).map(|t| t.split('"').next().unwrap()) {
            let inner = used.strip_prefix("Collection(").and_then(|t| t.strip_suffix(')')).unwrap_or(used);
            if let Some(name) = inner.strip_prefix("mscrm.").or_else(|| inner.strip_prefix("Microsoft.Dynamics.CRM.")) {
                assert!(declared.contains(name), "$metadata uses the undeclared type {used}");
            } else {
                assert!(inner.starts_with("Edm."), "$metadata uses the type {used}");
            }
        }
        // Each unbound catalog operation is imported once; bound ones are not.
        for (import, name) in [
            ("ActionImport", "BulkDelete"),
            ("ActionImport", "WinOpportunity"),
            ("FunctionImport", "RetrieveRolePrivilegesRole"),
        ] {
            assert_eq!(xml.matches(&format!("<{import} Name=\"{name}\"")).count(), 1, "{import} {name}");
        }
        assert_eq!(xml.matches("<ActionImport Name=\"QualifyLead\"").count(), 0, "QualifyLead is bound to lead");
        assert!(xml.contains(
            r#"<Function Name="RetrievePrincipalAccess" IsBound="true"><Parameter Name="entity" Type="mscrm.team""#
        ));

        // The service document lists the sets too.
        let v = srv.get("/").json();
        let names: Vec<&str> = v["value"].as_array().unwrap().iter().filter_map(|e| e["name"].as_str()).collect();
        for set in ["accounts", "contacts", "tasks", "activitypointers", "annotations", "systemusers", "roles"] {
            assert!(names.contains(&set), "service document lacks {set}: {names:?}");
        }
    });
}

#[test]
fn entity_definitions_and_attributes() {
    each_server(|srv| {
        let v = srv.get("/EntityDefinitions(LogicalName='account')?$select=LogicalName,EntitySetName").json();
        assert_eq!(v["LogicalName"], "account");
        assert_eq!(v["EntitySetName"], "accounts");
        assert!(v["MetadataId"].as_str().is_some_and(|s| Uuid::parse_str(s).is_ok()), "MetadataId: {v}");
        assert!(v.get("PrimaryIdAttribute").is_none(), "$select honoured: {v}");
        let full = srv.get("/EntityDefinitions(LogicalName='account')").json();
        assert_eq!(full["PrimaryIdAttribute"], "accountid");
        assert_eq!(full["PrimaryNameAttribute"], "name");
        assert_eq!(full["SchemaName"], "Account");
        assert_eq!(full["ObjectTypeCode"], 1);
        assert_eq!(full["DisplayName"]["UserLocalizedLabel"]["Label"], "Account", "{}", full["DisplayName"]);
        // By MetadataId too.
        let id = v["MetadataId"].as_str().unwrap();
        assert_eq!(srv.get(&format!("/EntityDefinitions({id})?$select=LogicalName")).json()["LogicalName"], "account");

        let attrs =
            srv.get("/EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,AttributeType").rows();
        let ty = |n: &str| -> String {
            attrs.iter().find(|a| a["LogicalName"] == n).unwrap_or_else(|| panic!("attribute {n} missing"))
                ["AttributeType"]
                .as_str()
                .unwrap()
                .to_string()
        };
        assert_eq!(ty("name"), "String");
        assert_eq!(ty("revenue"), "Money");
        assert_eq!(ty("industrycode"), "Picklist");
        assert_eq!(ty("primarycontactid"), "Lookup");
        assert_eq!(ty("ownerid"), "Owner");
        assert_eq!(ty("statecode"), "State");
        assert_eq!(ty("accountid"), "Uniqueidentifier");
        assert_eq!(ty("createdon"), "DateTime");

        let a = srv.get("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')").json();
        assert_eq!(a["@odata.type"], "#Microsoft.Dynamics.CRM.StringAttributeMetadata", "{a}");
        assert_eq!(a["MaxLength"], 160, "{a}");
        // Filtering the definitions.
        let rows = srv
            .get(&format!("/EntityDefinitions?$select=LogicalName&$filter={}", enc("LogicalName eq 'contact'")))
            .rows();
        assert_eq!(rows.len(), 1);
        // Unknown entity / attribute.
        srv.get("/EntityDefinitions(LogicalName='nosuchentity')").expect_error(404);
        srv.get("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='nosuch')").expect_error(404);
    });
}

#[test]
fn picklist_attribute_metadata_with_options() {
    each_server(|srv| {
        // The cast segment Dataverse documents for reading a choice column's options.
        let r = srv.get(
            "/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='industrycode')/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet",
        );
        r.expect(200);
        let p = r.json();
        let opts = p["OptionSet"]["Options"].as_array().unwrap_or_else(|| panic!("{p}"));
        let accounting = opts.iter().find(|o| o["Value"] == 1).unwrap_or_else(|| panic!("{p}"));
        assert_eq!(accounting["Label"]["UserLocalizedLabel"]["Label"], "Accounting");
    });
}

#[test]
fn custom_attribute_on_account() {
    each_server(|srv| {
        let schema = format!("new_Nick{}", uid_alpha());
        let logical = schema.to_lowercase();
        let body = json!({
            "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
            "AttributeType": "String",
            "AttributeTypeName": { "Value": "StringType" },
            "SchemaName": schema,
            "MaxLength": 100,
            "FormatName": { "Value": "Text" },
            "RequiredLevel": { "Value": "None", "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings" },
            "DisplayName": label("Nickname"),
            "Description": label("A short name"),
        });
        let r = srv.post("/EntityDefinitions(LogicalName='account')/Attributes", &body);
        r.expect(204);
        let eid = r.header("OData-EntityId").expect("OData-EntityId");
        assert!(eid.contains("Attributes("), "{eid}");

        let a =
            srv.get(&format!("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='{logical}')")).json();
        assert_eq!(a["SchemaName"], schema);
        assert_eq!(a["MaxLength"], 100);
        assert_eq!(a["IsCustomAttribute"], true, "{a}");

        let nick = format!("Nicky {}", uid());
        let id = srv.create("accounts", &json!({ "name": format!("Custom {}", uid()), logical.clone(): nick }));
        let v = srv.retrieve("accounts", id, &format!("$select=name,{logical}"));
        assert_eq!(v[&logical], nick);
        let rows =
            srv.get(&format!("/accounts?$select={logical}&$filter={}", enc(&format!("{logical} eq '{nick}'")))).rows();
        assert_eq!(rows.len(), 1);
        srv.patch(&format!("/accounts({id})"), &json!({ logical.clone(): "x".repeat(101) })).expect_error(400);
        let xml = srv.get("/$metadata").text();
        assert!(xml.contains(&format!("<Property Name=\"{logical}\"")), "new column in $metadata");

        // The same name twice, and a name without a prefix, are rejected.
        let r = srv.post("/EntityDefinitions(LogicalName='account')/Attributes", &body);
        assert!(matches!(r.status, 400 | 409 | 412), "duplicate column: {} {}", r.status, r.text());
        r.expect_error(r.status);
        let mut bad = body.clone();
        bad["SchemaName"] = json!("name");
        srv.post("/EntityDefinitions(LogicalName='account')/Attributes", &bad).expect_error(400);

        // Other column types: integer and money.
        let int_schema = format!("new_Score{}", uid_alpha());
        srv.post(
            "/EntityDefinitions(LogicalName='account')/Attributes",
            &json!({
                "@odata.type": "Microsoft.Dynamics.CRM.IntegerAttributeMetadata",
                "SchemaName": int_schema,
                "MinValue": 0,
                "MaxValue": 10,
                "DisplayName": label("Score"),
                "RequiredLevel": { "Value": "None" },
            }),
        )
        .expect(204);
        let int_logical = int_schema.to_lowercase();
        srv.patch(&format!("/accounts({id})"), &json!({ int_logical.clone(): 7 })).expect(204);
        assert_eq!(srv.retrieve("accounts", id, &format!("$select={int_logical}"))[&int_logical], 7);
        srv.patch(&format!("/accounts({id})"), &json!({ int_logical.clone(): 11 })).expect_error(400);
    });
}

#[test]
fn custom_entity_crud() {
    each_server(|srv| {
        let suffix = uid_alpha();
        let schema = format!("new_Project{suffix}");
        let logical = schema.to_lowercase();
        let body = json!({
            "@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata",
            "SchemaName": schema,
            "DisplayName": label("Project"),
            "DisplayCollectionName": label("Projects"),
            "Description": label("Projects for customers"),
            "OwnershipType": "UserOwned",
            "IsActivity": false,
            "HasActivities": false,
            "HasNotes": true,
            "Attributes": [{
                "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata",
                "AttributeType": "String",
                "AttributeTypeName": { "Value": "StringType" },
                "SchemaName": format!("new_Name{suffix}"),
                "IsPrimaryName": true,
                "MaxLength": 100,
                "FormatName": { "Value": "Text" },
                "RequiredLevel": { "Value": "None", "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings" },
                "DisplayName": label("Project Name"),
                "Description": label("The name of the project"),
            }],
        });
        let r = srv.post("/EntityDefinitions", &body);
        r.expect(204);
        assert!(r.header("OData-EntityId").is_some_and(|h| h.contains("EntityDefinitions(")));

        let def = srv
            .get(&format!(
                "/EntityDefinitions(LogicalName='{logical}')?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,IsCustomEntity"
            ))
            .json();
        assert_eq!(def["LogicalName"], logical);
        assert_eq!(def["EntitySetName"], format!("{logical}s"), "{def}");
        assert_eq!(def["PrimaryIdAttribute"], format!("{logical}id"), "{def}");
        assert_eq!(def["PrimaryNameAttribute"], format!("new_name{suffix}"), "{def}");
        assert_eq!(def["IsCustomEntity"], true, "{def}");
        let set = def["EntitySetName"].as_str().unwrap().to_string();
        let name_col = format!("new_name{suffix}");

        // CRUD on the new set.
        let id = srv.create(&set, &json!({ name_col.clone(): "Website relaunch" }));
        let v = srv.retrieve(&set, id, &format!("$select={name_col},statecode,_ownerid_value,createdon"));
        assert_eq!(v[&name_col], "Website relaunch");
        assert_eq!(v["statecode"], 0);
        assert_eq!(v["_ownerid_value"], srv.admin_id().to_string());
        assert!(v["createdon"].as_str().is_some(), "{v}");
        srv.patch(&format!("/{set}({id})"), &json!({ name_col.clone(): "Website relaunch v2" })).expect(204);
        let rows = srv
            .get(&format!("/{set}?$select={name_col}&$filter={}", enc(&format!("contains({name_col},'v2')"))))
            .rows();
        assert_eq!(rows.len(), 1);
        // A note on the custom entity (HasNotes).
        srv.create(
            "annotations",
            &json!({ "subject": "project note", format!("objectid_{logical}@odata.bind"): format!("/{set}({id})") }),
        );
        srv.delete(&format!("/{set}({id})")).expect(204);
        srv.get(&format!("/{set}({id})")).expect_error(404);
        let xml = srv.get("/$metadata").text();
        assert!(xml.contains(&format!("<EntitySet Name=\"{set}\"")), "new set in $metadata");

        // The same schema name twice is rejected; so is a table without a primary name.
        let r = srv.post("/EntityDefinitions", &body);
        assert!(matches!(r.status, 400 | 409 | 412), "duplicate table: {} {}", r.status, r.text());
        r.expect_error(r.status);
        let mut no_primary = body.clone();
        no_primary["SchemaName"] = json!(format!("new_Other{}", uid_alpha()));
        no_primary["Attributes"][0]["IsPrimaryName"] = json!(false);
        srv.post("/EntityDefinitions", &no_primary).expect_error(400);
    });
}

#[test]
fn who_am_i() {
    each_server(|srv| {
        let r = srv.get("/WhoAmI()");
        r.expect(200);
        let v = r.json();
        for k in ["UserId", "BusinessUnitId", "OrganizationId"] {
            let s = v[k].as_str().unwrap_or_else(|| panic!("{k} missing: {v}"));
            Uuid::parse_str(s).unwrap_or_else(|_| panic!("{k} is not a GUID: {v}"));
        }
        assert!(v["@odata.context"].as_str().is_some_and(|c| c.contains("WhoAmIResponse")), "{v}");
        let user = Uuid::parse_str(v["UserId"].as_str().unwrap()).unwrap();
        let me = srv.retrieve("systemusers", user, "$select=fullname,internalemailaddress,_businessunitid_value");
        assert_eq!(me["internalemailaddress"], common::ADMIN_EMAIL);
        assert_eq!(me["_businessunitid_value"], v["BusinessUnitId"]);
        let bu = Uuid::parse_str(v["BusinessUnitId"].as_str().unwrap()).unwrap();
        srv.retrieve("businessunits", bu, "$select=name");
        let org = Uuid::parse_str(v["OrganizationId"].as_str().unwrap()).unwrap();
        srv.retrieve("organizations", org, "$select=name");
        // Other users get their own id.
        let other = srv.new_user(&["Salesperson"]);
        assert_ne!(other.id, user);
        assert_eq!(srv.whoami_as(&other.token)["BusinessUnitId"], v["BusinessUnitId"]);
    });
}

#[test]
fn custom_columns_can_be_deleted_with_their_data() {
    each_server(|srv| {
        let logical = format!("new_gone{}", common::uid_alpha().to_lowercase());
        srv.post(
            "/EntityDefinitions(LogicalName='account')/Attributes",
            &json!({
                "@odata.type": "Microsoft.Dynamics.CRM.MoneyAttributeMetadata",
                "SchemaName": logical,
                "DisplayName": { "LocalizedLabels": [{ "Label": "Gone", "LanguageCode": 1033 }] },
                "Precision": 2
            }),
        )
        .expect(204);
        let id = srv.create("accounts", &json!({ "name": format!("Gone {}", uid()), logical.clone(): 12.5 }));
        let v = srv.retrieve("accounts", id, &format!("$select={logical},{logical}_base"));
        assert_eq!(common::dec(&v[format!("{logical}_base")]), common::d("12.5"));

        srv.delete(&format!("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='{logical}')"))
            .expect(204);
        srv.get(&format!("/accounts({id})?$select={logical}")).expect_error(400);
        srv.get(&format!("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='{logical}_base')"))
            .expect_error(404);
        // The record itself is untouched, and the name can be used again.
        srv.retrieve("accounts", id, "$select=name");
        srv.post(
            "/EntityDefinitions(LogicalName='account')/Attributes",
            &json!({ "@odata.type": "Microsoft.Dynamics.CRM.StringAttributeMetadata", "SchemaName": logical, "MaxLength": 20 }),
        )
        .expect(204);
        let v = srv.retrieve("accounts", id, &format!("$select={logical}"));
        assert!(v[&logical].is_null(), "the old data is gone: {v}");

        // System columns and unknown columns cannot be deleted.
        srv.delete("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='name')").expect_error(400);
        srv.delete("/EntityDefinitions(LogicalName='account')/Attributes(LogicalName='new_nosuchcolumn')")
            .expect_error(404);
    });
}
