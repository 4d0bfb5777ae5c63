// The widget's loader (a placeholder until the widget lands)
export {};
