/* The one key table: the main loop dispatches through it and the help overlay is generated from it, so the
 * two cannot disagree. The legend of glyphs and colours lives here too, for the same reason. */
#ifndef XQ_UI_KEYS_H
#define XQ_UI_KEYS_H

typedef enum ui_action {
    UI_ACT_NONE = 0, UI_ACT_QUIT, UI_ACT_HELP, UI_ACT_CLOSE, UI_ACT_NEXT_VIEW, UI_ACT_PREV_VIEW, UI_ACT_VIEW,
    UI_ACT_FREEZE, UI_ACT_SORT, UI_ACT_UP, UI_ACT_DOWN, UI_ACT_FILTER, UI_ACT_OPEN, UI_ACT_BACK,
    UI_ACT_REQUEST
} ui_action;

/* UI_ACT_REQUEST's arg: what the key asks of the data source (ui_source.request), e.g. a live cache-mode switch. */
typedef enum ui_request { UI_REQ_MODE_NEXT = 1, UI_REQ_MODE_PREV, UI_REQ_BITS_NEXT, UI_REQ_BITS_PREV } ui_request;

typedef struct ui_key {
    int code;          /* curses key code or character */
    const char *label; /* as the help shows it; NULL: same action as the row above (not listed again) */
    ui_action action;
    int arg;           /* view index for UI_ACT_VIEW, ui_request for UI_ACT_REQUEST */
    const char *what;
} ui_key;

typedef struct ui_legend {
    const char *utf8, *ascii; /* the glyph in each character set */
    const char *meaning;
} ui_legend;

const ui_key *ui_keys(int *n);
const ui_legend *ui_legends(int *n);
/* The table row for a key code, or NULL. */
const ui_key *ui_key_find(int code);

#endif
