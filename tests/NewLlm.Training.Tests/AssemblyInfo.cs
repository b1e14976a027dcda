// Training uses torch's global random generator (dropout); tests that check bit-exact reproducibility must not
// interleave with other tests that draw from it.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
