/* The key table and the legend (keys.h). */
#include "ui/keys.h"

#include <curses.h>

static const ui_key KEYS[] = {
    {'1', "1-6", UI_ACT_VIEW, 0, "show view N (Overview, Layers, Roofline, Timeline, Modes, Compare)"},
    {'2', NULL, UI_ACT_VIEW, 1, NULL},
    {'3', NULL, UI_ACT_VIEW, 2, NULL},
    {'4', NULL, UI_ACT_VIEW, 3, NULL},
    {'5', NULL, UI_ACT_VIEW, 4, NULL},
    {'6', NULL, UI_ACT_VIEW, 5, NULL},
    {'\t', "Tab", UI_ACT_NEXT_VIEW, 0, "next view"},
    {KEY_BTAB, "Shift-Tab", UI_ACT_PREV_VIEW, 0, "previous view"},
    {'?', "? F1", UI_ACT_HELP, 0, "this help"},
    {KEY_F(1), NULL, UI_ACT_HELP, 0, NULL},
    {'p', "p", UI_ACT_FREEZE, 0, "freeze / unfreeze the data (navigation still works)"},
    {'s', "s", UI_ACT_SORT, 0, "Layers: sort by time / by layer"},
    {KEY_UP, "Up/Down k/j", UI_ACT_UP, 0, "Layers, Compare: move the selection; in this help: scroll"},
    {'k', NULL, UI_ACT_UP, 0, NULL},
    {KEY_DOWN, NULL, UI_ACT_DOWN, 0, NULL},
    {'j', NULL, UI_ACT_DOWN, 0, NULL},
    {'/', "/", UI_ACT_FILTER, 0, "Layers: filter: layer 3, range 3-7 or op name (Enter keeps, Esc clears)"},
    {'\n', "Enter", UI_ACT_OPEN, 0, "Layers, Compare: show the selected layer's ops"},
    {'\r', NULL, UI_ACT_OPEN, 0, NULL},
    {KEY_ENTER, NULL, UI_ACT_OPEN, 0, NULL},
    {KEY_BACKSPACE, "Backspace", UI_ACT_BACK, 0, "Layers, Compare: back from a layer's ops, then clear the filter"},
    {127, NULL, UI_ACT_BACK, 0, NULL},
    {8, NULL, UI_ACT_BACK, 0, NULL},
    {27, "Esc", UI_ACT_CLOSE, 0, "close the help; Layers, Compare: back from a layer's ops, then clear the filter"},
    {'m', "m / M", UI_ACT_REQUEST, UI_REQ_MODE_NEXT, "Modes: switch the live cache mode to the next / previous family"},
    {'M', NULL, UI_ACT_REQUEST, UI_REQ_MODE_PREV, NULL},
    {'b', "b / B", UI_ACT_REQUEST, UI_REQ_BITS_NEXT, "Modes: switch to fewer / more bits within the mode's family"},
    {'B', NULL, UI_ACT_REQUEST, UI_REQ_BITS_PREV, NULL},
    {'q', "q F10", UI_ACT_QUIT, 0, "quit (from any view)"},
    {KEY_F(10), NULL, UI_ACT_QUIT, 0, NULL},
};

static const ui_legend LEGENDS[] = {
    {"█", "#", "bars: memory-bound time (cyan), limited by bytes moved; Timeline: weights"},
    {"▓", "=", "bars: compute-bound time (yellow), limited by FLOPs; Timeline: attention"},
    {"▒", "+", "Timeline: rebuild (dequantize and rematerialize K/V)"},
    {"░", ".", "bars: the rest of a bar's 100% (each bar names its 100%); Timeline: other ops"},
    {"^", "^", "Timeline: a step taller than the scale's top (a prefill, a slow step), clipped"},
    {"P ·", "P .", "Timeline, under each column: P a prefill step, · a decode step"},
    {"▶", ">", "Modes: the stretch of the cache mode running now"},
    {"⣿", "*", "an op on the roofline plot; the solid line is this CPU's measured roof"},
    {"·", ":", "another GPU's roof (catalogue figures, dotted)"},
    {"+12.5%", "+12.5%", "Compare: green when the compare run is better, red when worse (the sign says it too)"},
    {"N/A", "N/A", "not available; the reason is given next to it"},
    {"PAUSED", "PAUSED", "data frozen by p: numbers do not change until p again"},
};

const ui_key *ui_keys(int *n)
{
    *n = (int)(sizeof KEYS / sizeof KEYS[0]);
    return KEYS;
}

const ui_legend *ui_legends(int *n)
{
    *n = (int)(sizeof LEGENDS / sizeof LEGENDS[0]);
    return LEGENDS;
}

const ui_key *ui_key_find(int code)
{
    for (size_t i = 0; i < sizeof KEYS / sizeof KEYS[0]; i++)
        if (KEYS[i].code == code) return &KEYS[i];
    return NULL;
}
