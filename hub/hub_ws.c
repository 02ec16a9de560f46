typedef int chathub_placeholder_t;
