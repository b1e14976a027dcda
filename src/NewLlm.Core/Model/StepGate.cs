namespace NewLlm;

/// <summary>
/// Lets consumers wait until a producer has published the inputs of a position: positions [0, published) are ready.
/// A failed producer opens the gate completely so that no consumer waits forever (its exception is rethrown by
/// <see cref="RowParallel.For"/>).
/// </summary>
internal sealed class StepGate
{
    private readonly object sync = new();
    private long published;

    /// <summary>Marks positions [0, <paramref name="count"/>) as ready.</summary>
    public void Publish(long count)
    {
        lock (sync)
        {
            published = Math.Max(published, count);
            Monitor.PulseAll(sync);
        }
    }

    /// <summary>Releases every waiting consumer (after the producer failed or finished).</summary>
    public void OpenAll() => Publish(long.MaxValue);

    /// <summary>Blocks until position <paramref name="position"/> is ready.</summary>
    public void WaitFor(long position)
    {
        if (Volatile.Read(ref published) > position)
        {
            return;
        }

        lock (sync)
        {
            while (published <= position)
            {
                Monitor.Wait(sync);
            }
        }
    }
}
