/// The projector runtime and the views (being built: see the issue "Projectors").
enum ProjectionsModule {}
