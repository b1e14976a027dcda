namespace NewLlm;

/// <summary>
/// One loss's hold on a model's <see cref="TrainingWorkspace"/>. Code that may run with or without one takes a
/// nullable lease and calls <see cref="Buffer"/>, which makes a fresh tensor when there is none.
/// </summary>
internal sealed class WorkspaceLease(TrainingWorkspace workspace, long generation)
{
    /// <summary>Whether no later lease has reused the buffers since this one wrote them.</summary>
    public bool IsCurrent => workspace.IsCurrent(generation);

    /// <summary>The buffer <paramref name="name"/> of <paramref name="lease"/>, or a fresh (uninitialised) tensor without a lease.</summary>
    public static Tensor Buffer(WorkspaceLease? lease, string name, long[] shape, ScalarType dtype, Device device) =>
        lease is null ? empty(shape, dtype: dtype, device: device) : lease.Get(name, shape, dtype, device);

    /// <summary>Ends the hold (idempotent); the buffers go to the next loss.</summary>
    public void Release() => workspace.Release(generation);

    private Tensor Get(string name, long[] shape, ScalarType dtype, Device device) => workspace.Get(name, shape, dtype, device);
}
