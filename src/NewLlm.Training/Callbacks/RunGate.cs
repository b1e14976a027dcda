namespace NewLlm.Training;

/// <summary>Lets one run of a trainer in at a time, and refuses changes (callbacks, checkpoints) while it runs.</summary>
internal sealed class RunGate
{
    private int _running;

    /// <summary>Lets a run in.</summary>
    /// <exception cref="InvalidOperationException">A run is in.</exception>
    public void Enter()
    {
        if (Interlocked.Exchange(ref _running, 1) == 1)
        {
            throw new InvalidOperationException("This trainer is already training: a second Train or TrainAsync call cannot run beside the first. Await the first, or use another Trainer with its own model.");
        }
    }

    /// <summary>Runs <paramref name="run"/> (let in by <see cref="Enter"/>), then lets the next run in.</summary>
    public T RunThenExit<T>(Func<T> run)
    {
        try
        {
            return run();
        }
        finally
        {
            Volatile.Write(ref _running, 0);
        }
    }

    /// <exception cref="InvalidOperationException">A run is in.</exception>
    public void ThrowIfRunning()
    {
        if (Volatile.Read(ref _running) == 1)
        {
            throw new InvalidOperationException("This trainer is training: callbacks and checkpoints cannot be changed or loaded until the run ends.");
        }
    }
}
