use connector_config_page::App;

fn main() {
    console_error_panic_hook::set_once();
    console_log::init_with_level(log::Level::Info).expect("the logger is set only here");
    leptos::mount::mount_to_body(App);
}
