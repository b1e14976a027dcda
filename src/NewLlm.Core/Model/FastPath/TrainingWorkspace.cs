namespace NewLlm;

/// <summary>
/// The large buffers of one training step — the recurrence's hidden states, gates and contexts, the loss's logits
/// chunk and gradients — kept by a model from one <see cref="NewLlmModel.NextTokenLoss(Tensor, Tensor, long)"/> to
/// the next, so that a steady run of steps takes no fresh memory from the operating system (glibc maps every block
/// over 32 MiB afresh and unmaps it when freed, so each new [B, T, *] tensor costs a page fault per 4 KiB page).
/// </summary>
/// <remarks>
/// One loss at a time holds the buffers (<see cref="TryLease"/>), from its forward until its last backward node has run
/// (or it is made without gradients, or disposed); a loss made meanwhile gets fresh tensors. A graph backwarded again
/// (<c>retain_graph</c>) after a later loss has reused the buffers sees its lease is not current and returns NaN
/// gradients rather than wrong ones (libtorch's autograd lets no exception through from a custom function).
/// </remarks>
internal sealed class TrainingWorkspace : IDisposable
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Tensor> _buffers = new(StringComparer.Ordinal);
    private long _generation;
    private bool _held;

    /// <summary>How many buffers have been made so far (for tests: a steady run of steps makes none after the first).</summary>
    internal int BuffersMade { get; private set; }

    /// <summary>For tests, read on the thread that made and cleared the buffers.</summary>
    internal int BuffersKept => _buffers.Count;

    /// <summary>The buffers for one loss, or null when another loss holds them (the caller makes fresh tensors).</summary>
    public WorkspaceLease? TryLease()
    {
        lock (_gate)
        {
            if (_held)
            {
                return null;
            }

            _held = true;
            return new WorkspaceLease(this, ++_generation);
        }
    }

    /// <summary>
    /// Frees every buffer (they are made again, at their sizes, by the next loss). A loss still holding them loses its
    /// lease: its backward gives NaN gradients instead of reading freed buffers.
    /// </summary>
    public void Clear()
    {
        lock (_gate)
        {
            foreach (Tensor buffer in _buffers.Values)
            {
                buffer.Dispose();
            }

            _buffers.Clear();
            _generation++;
            _held = false;
        }
    }

    public void Dispose() => Clear();

    /// <summary>The kept buffer <paramref name="name"/> when it has this shape, dtype and device, otherwise a new one (uninitialised).</summary>
    internal Tensor Get(string name, long[] shape, ScalarType dtype, Device device)
    {
        lock (_gate)
        {
            if (_buffers.TryGetValue(name, out Tensor? kept))
            {
                if (kept.dtype == dtype && kept.device_type == device.type && kept.device_index == device.index && kept.shape.SequenceEqual(shape))
                {
                    return kept;
                }

                kept.Dispose();
            }

            // Kept across calls, so out of every dispose scope; freed by Clear.
            Tensor made = empty(shape, dtype: dtype, device: device).DetachFromDisposeScope();
            _buffers[name] = made;
            BuffersMade++;
            return made;
        }
    }

    internal bool IsCurrent(long generation)
    {
        lock (_gate)
        {
            return generation == _generation;
        }
    }

    /// <summary>Ends the lease of <paramref name="generation"/> (nothing when a later lease exists).</summary>
    internal void Release(long generation)
    {
        lock (_gate)
        {
            if (generation == _generation)
            {
                _held = false;
            }
        }
    }
}
