// The tests seed torch's global random generator (initialisation, dropout masks); run in parallel, one test's
// draws would interleave with another's.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
