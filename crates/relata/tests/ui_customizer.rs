//! Customization in the web interface: a new table and its columns, used
//! at once by the generated list and forms; a form layout edited, stored
//! as a `systemform` with FormXML, and followed by the record page; what
//! is refused and why.

mod common;

use common::{each_server, uid, uid_alpha};
use serde_json::json;
use uuid::Uuid;

#[test]
fn a_new_table_and_its_columns_work_at_once() {
    each_server(|srv| {
        let token = &srv.token;
        let csrf = srv.csrf_of(token);
        let name = format!("new_proj{}", uid_alpha().to_lowercase());
        let r = srv.form_as(
            token,
            "/ui/customize",
            &[
                ("csrf", csrf.clone()),
                ("name", name.clone()),
                ("label_en", "Project".into()),
                ("label_ru", "Проект".into()),
                ("plural_en", "Projects".into()),
                ("plural_ru", "Проекты".into()),
                ("ownership", "user".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let budget = format!("{name}_budget");
        let r = srv.form_as(
            token,
            &format!("/ui/customize/{name}"),
            &[
                ("csrf", csrf.clone()),
                ("name", budget.clone()),
                ("label_en", "Budget".into()),
                ("label_ru", "Бюджет".into()),
                ("kind", "money".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let stage = format!("{name}_stage");
        let r = srv.form_as(
            token,
            &format!("/ui/customize/{name}"),
            &[
                ("csrf", csrf.clone()),
                ("name", stage.clone()),
                ("kind", "picklist".into()),
                ("options", "Idea\nRunning\nDone".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        // Bad names and missing choices are explained, nothing is added.
        let r = srv.form_as(
            token,
            &format!("/ui/customize/{name}"),
            &[("csrf", csrf.clone()), ("name", "Bad Name".into())],
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains("lower-case"), "{}", r.text());
        let r = srv.form_as(
            token,
            &format!("/ui/customize/{name}"),
            &[("csrf", csrf.clone()), ("name", format!("{name}_x")), ("kind", "picklist".into())],
        );
        assert_eq!(r.status, 400);
        let r = srv.form_as(token, "/ui/customize", &[("csrf", csrf.clone()), ("name", "account".into())]);
        assert_eq!(r.status, 400, "{}", r.text());

        // The table's list, forms and nav work from metadata.
        let set = srv.get(&format!("/EntityDefinitions(LogicalName='{name}')?$select=EntitySetName")).json()
            ["EntitySetName"]
            .as_str()
            .unwrap()
            .to_string();
        let home = srv.page_as(token, "/").text();
        assert!(home.contains(&format!("data-entity=\"{name}\"")), "the nav offers the new table");
        let form = srv.page_as(token, &format!("/ui/{set}/new")).text();
        assert!(form.contains(&format!("name=\"{budget}\"")) && form.contains("Running"), "{form}");
        let r = srv.form_as(
            token,
            &format!("/ui/{set}/new"),
            &[
                ("csrf", csrf.clone()),
                ("new_name", "Apollo".into()),
                (&budget, "1 500,50".into()),
                (&stage, "100000001".into()),
            ],
        );
        assert_eq!(r.status, 303, "{}", r.text());
        let list = srv.page_as(token, &format!("/ui/{set}")).text();
        assert!(list.contains("Apollo"), "{list}");
        let rows = srv.get(&format!("/{set}?$select={budget},{stage}")).rows();
        assert_eq!(rows[0][&budget].as_f64(), Some(1500.5));
        assert_eq!(rows[0][&stage], 100000001);

        // A Salesperson may not customize.
        let rep = srv.new_user(&["Salesperson"]);
        assert_eq!(srv.page_as(&rep.token, "/ui/customize").status, 403);
        let r = srv.form_as(
            &rep.token,
            "/ui/customize",
            &[("csrf", srv.csrf_of(&rep.token)), ("name", format!("new_x{}", uid_alpha().to_lowercase()))],
        );
        assert_eq!(r.status, 403);
        // Without the CSRF value: refused.
        assert_eq!(srv.form_as(token, "/ui/customize", &[("name", "new_nocsrf".into())]).status, 403);
    });
}

#[test]
fn form_layouts_are_stored_and_followed() {
    each_server(|srv| {
        let tag = uid();
        let token = &srv.token;
        let csrf = srv.csrf_of(token);
        let acc = srv.create(
            "accounts",
            &json!({ "name": format!("Layout {tag}"), "telephone1": "555", "websiteurl": "https://example.com" }),
        );

        // The editor starts from the generated layout.
        let html = srv.page_as(token, "/ui/customize/account/form").text();
        assert!(html.contains("# Summary | Сводка") && html.contains("# Details | Подробности"), "{html}");

        // Errors name the line.
        let r = srv.form_as(
            token,
            "/ui/customize/account/form",
            &[("csrf", csrf.clone()), ("outline", "# A\n## B\nname\nno_such_column\n".into())],
        );
        assert_eq!(r.status, 400);
        assert!(r.text().contains("Line 4"), "{}", r.text());
        let r =
            srv.form_as(token, "/ui/customize/account/form", &[("csrf", csrf.clone()), ("outline", "name\n".into())]);
        assert_eq!(r.status, 400);

        // Two tabs; the website left off; a Russian tab label.
        let outline = "# Summary | Сводка\n## Phone | Телефон\ntelephone1\n# More\n## Owner\nownerid\n";
        let r =
            srv.form_as(token, "/ui/customize/account/form", &[("csrf", csrf.clone()), ("outline", outline.into())]);
        assert_eq!(r.status, 303, "{}", r.text());
        let forms = srv.get("/systemforms?$select=formxml,type&$filter=objecttypecode eq 'account'").rows();
        assert_eq!(forms.len(), 1);
        let xml = forms[0]["formxml"].as_str().unwrap();
        assert!(xml.contains(r#"datafieldname="telephone1""#) && xml.contains(r#"languagecode="1049""#), "{xml}");
        let page = srv.page_as(token, &format!("/ui/accounts/{acc}")).text();
        assert!(page.contains("aria-label=\"Summary\"") && page.contains(">Phone</h2>"), "{page}");
        assert!(!page.contains("example.com"), "a column left off the form is not shown");
        // The primary name stays on the form.
        assert!(page.contains(">Account Name</dt>"), "{page}");
        let page = srv.page_as(token, &format!("/ui/accounts/{acc}?lang=ru")).text();
        assert!(page.contains("aria-label=\"Сводка\"") && page.contains(">Телефон</h2>"), "{page}");
        let edit = srv.page_as(token, &format!("/ui/accounts/{acc}/edit?lang=en")).text();
        assert!(edit.contains("<legend>Summary · Phone</legend>"), "{edit}");
        assert!(!edit.contains("name=\"websiteurl\""));

        // A stored form that cannot be read falls back to the generated one.
        let form_id = Uuid::parse_str(forms[0]["formid"].as_str().unwrap()).unwrap();
        srv.patch(&format!("/systemforms({form_id})"), &json!({ "formxml": "<form><tabs><tab" })).expect(204);
        let page = srv.page_as(token, &format!("/ui/accounts/{acc}?lang=en")).text();
        assert!(page.contains("example.com"), "the generated layout shows every column");

        // Reset removes the stored form.
        let r = srv.form_as(token, "/ui/customize/account/form/reset", &[("csrf", csrf.clone())]);
        assert_eq!(r.status, 303);
        assert_eq!(srv.get("/systemforms?$filter=objecttypecode eq 'account'").rows().len(), 0);
        // A Salesperson can neither open nor save the editor.
        let rep = srv.new_user(&["Salesperson"]);
        assert_eq!(srv.page_as(&rep.token, "/ui/customize/account/form").status, 403);
        let r = srv.form_as(
            &rep.token,
            "/ui/customize/account/form",
            &[("csrf", srv.csrf_of(&rep.token)), ("outline", outline.into())],
        );
        assert_eq!(r.status, 403);
    });
}
