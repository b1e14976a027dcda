using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NewLlm;

/// <summary>
/// The fast path's dropout masks, [T, L, B, H]: element (t, l, b, j) is kept (scaled by 1 / (1 - p)) where a uniform
/// draw u in [0, 1) is >= p, dropped (0) otherwise: the same distribution as <c>F.dropout</c>.
/// </summary>
/// <remarks>
/// The draw is 24 bits of SplitMix64 at index ((t L + l) B + b) H + j + 1, keyed by one 63-bit seed drawn from torch's
/// global generator (so <c>torch.manual_seed</c> makes the masks reproducible). Every element is computable on its own,
/// so each row thread of the time loop draws its own rows at the position it is at, and nothing [T, L, B, H] is stored.
/// </remarks>
internal readonly struct DropoutMask(ulong seed, double probability, int layers, long batch, long hidden)
{
    private readonly ulong _seed = seed;
    private readonly uint _threshold = (uint)Math.Ceiling(probability * (1 << 24));
    private readonly int _layers = layers;
    private readonly long _batch = batch;
    private readonly long _hidden = hidden;

    /// <summary>Whether p > 0; an inactive mask keeps everything unscaled.</summary>
    public bool Active { get; } = probability > 0;

    /// <summary>1 / (1 - p).</summary>
    public float Scale { get; } = (float)(1 / (1 - probability));

    /// <summary>A mask for a [T, L, B, H] recurrence, seeded by one draw from torch's global generator; inactive (and no draw) when p is 0.</summary>
    public static DropoutMask Draw(double probability, int layers, long batch, long hidden)
    {
        if (probability <= 0)
        {
            return new DropoutMask(0, 0, layers, batch, hidden);
        }

        using Tensor draw = randint(0, long.MaxValue, [1], dtype: ScalarType.Int64);
        return new DropoutMask((ulong)draw.item<long>(), probability, layers, batch, hidden);
    }

    /// <summary>The index of element (t, layer, row, 0); element j has index + j.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong RowIndex(long t, int layer, long row) => (ulong)((((((t * _layers) + layer) * _batch) + row) * _hidden) + 1);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool Keeps(ulong index)
    {
        ulong z = _seed + (index * 0x9E3779B97F4A7C15UL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (uint)(z >> 40) >= _threshold;
    }

    /// <summary>Four indices at once, all ones in a kept lane: the scalar form's 64-bit arithmetic, so the two agree bit for bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public Vector256<ulong> Keeps(Vector256<ulong> index)
    {
        Vector256<ulong> z = Vector256.Create(_seed) + (index * Vector256.Create(0x9E3779B97F4A7C15UL));
        z = (z ^ (z >> 30)) * Vector256.Create(0xBF58476D1CE4E5B9UL);
        z = (z ^ (z >> 27)) * Vector256.Create(0x94D049BB133111EBUL);
        z ^= z >> 31;

        // 24-bit draws: a signed 64-bit comparison is exact (and has an AVX2 instruction; the unsigned one has not).
        return Vector256.GreaterThanOrEqual((z >> 40).AsInt64(), Vector256.Create((long)_threshold)).AsUInt64();
    }

    /// <summary>Writes the mask values (<see cref="Scale"/> or 0) of position <paramref name="t"/> for rows [firstRow, firstRow + rows) as [L, rows, H].</summary>
    public void Fill(Span<float> destination, long t, long firstRow, long rows)
    {
        int k = 0;
        for (int l = 0; l < _layers; l++)
        {
            for (long r = 0; r < rows; r++)
            {
                ulong index = RowIndex(t, l, firstRow + r);
                for (long j = 0; j < _hidden; j++)
                {
                    destination[k++] = Keeps(index + (ulong)j) ? Scale : 0f;
                }
            }
        }
    }

    /// <summary>The whole mask as a tensor [T, L, B, H] (for tests: the direct port fed the fast path's masks).</summary>
    public Tensor ToTensor(long time)
    {
        var data = new float[checked((int)(time * _layers * _batch * _hidden))];
        int block = checked((int)(_layers * _batch * _hidden));
        for (long t = 0; t < time; t++)
        {
            if (Active)
            {
                Fill(data.AsSpan((int)(t * block), block), t, 0, _batch);
            }
            else
            {
                data.AsSpan((int)(t * block), block).Fill(1f);
            }
        }

        return tensor(data, [time, _layers, _batch, _hidden]);
    }
}
