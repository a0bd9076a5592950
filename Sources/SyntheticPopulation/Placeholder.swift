/// Placeholder until the generator lands.
enum SyntheticPopulationPlaceholder {}
