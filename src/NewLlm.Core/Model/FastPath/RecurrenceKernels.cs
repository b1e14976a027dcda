using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NewLlm;

/// <summary>
/// The element-wise work of the time loops (<see cref="RecurrenceLoops"/>) for <see cref="FusedCpuStrategy"/>, fused
/// into one pass per row, for float32 tensors on the CPU. Each method works on <c>rows</c> rows whose starts are
/// <c>stride</c> floats apart.
/// </summary>
/// <remarks>
/// Written by hand rather than with libtorch operators on purpose: at one position the loops touch slices of about
/// 128 x 256 floats, where every libtorch operator (about 20 per position forward and 35 backward, each a dispatch,
/// a temporary and a pass over memory) costs more than its arithmetic (measurements: "Why the element-wise work is
/// fused" in <c>benchmarks/NewLlm.Benchmarks/README.md</c>). The matrix products stay in libtorch (MKL).
/// </remarks>
internal static unsafe class RecurrenceKernels
{
    private static readonly int Width = Vector<float>.Count;

    /// <summary>Copies row <c>index[r * indexStride]</c> of <paramref name="table"/> [N, width] to row r of <paramref name="destination"/>.</summary>
    public static void Gather(float* destination, long stride, float* table, long* index, long indexStride, int rows, int width)
    {
        long bytes = width * sizeof(float);
        for (int r = 0; r < rows; r++)
        {
            Buffer.MemoryCopy(table + (index[r * indexStride] * width), destination + (r * stride), bytes, bytes);
        }
    }

    /// <summary>h = relu(h [+ bias]), times the dropout mask of (t, layer) when it is active; in place.</summary>
    public static void ReluDropout(float* h, long stride, float* bias, int rows, int width, in DropoutMask mask, long t, int layer, long firstRow)
    {
        for (int r = 0; r < rows; r++)
        {
            float* row = h + (r * stride);
            if (bias is not null)
            {
                Add(row, bias, width);
            }

            if (mask.Active)
            {
                // Eight draws per step and no branch on relu (a coin flip for the branch predictor); measured against
                // the scalar loop in benchmarks/NewLlm.Benchmarks/README.md ("Why the element-wise work is fused").
                ulong index = mask.RowIndex(t, layer, firstRow + r);
                float scale = mask.Scale;
                int j = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    Vector256<ulong> lanes = Vector256.Create(0UL, 1UL, 2UL, 3UL), four = Vector256.Create(4UL);
                    Vector256<float> vScale = Vector256.Create(scale);
                    for (; j <= width - 8; j += 8)
                    {
                        Vector256<ulong> first = Vector256.Create(index + (ulong)j) + lanes;
                        Vector256<float> kept = Vector256.Narrow(mask.Keeps(first), mask.Keeps(first + four)).AsSingle();
                        Vector256<float> v = Vector256.Load(row + j);
                        Vector256.ConditionalSelect(Vector256.GreaterThan(v, Vector256<float>.Zero) & kept, v * vScale, Vector256<float>.Zero).Store(row + j);
                    }
                }

                for (; j < width; j++)
                {
                    float v = row[j];
                    row[j] = v > 0 && mask.Keeps(index + (ulong)j) ? v * scale : 0f;
                }

                continue;
            }

            int k = 0;
            for (; k <= width - Width; k += Width)
            {
                Vector.Max(Vector.Load(row + k), Vector<float>.Zero).Store(row + k);
            }

            for (; k < width; k++)
            {
                row[k] = Math.Max(row[k], 0f);
            }
        }
    }

    /// <summary>
    /// The backward of relu and dropout: da = (da [+ addend]) / (1 - p) where h > 0 (both passed), 0 elsewhere; in
    /// place. With <paramref name="columnSums"/> (width doubles) the column sums of the result are added to it (the
    /// gradient of the layer's bias); <paramref name="scratch"/> then holds width floats of the calling thread's own.
    /// </summary>
    public static void ReluDropoutBackward(
        float* da, long stride, float* addend, long addendStride, float* h, long hStride, int rows, int width, float scale, double* columnSums, float* scratch)
    {
        var vScale = new Vector<float>(scale);
        if (columnSums is not null)
        {
            new Span<float>(scratch, width).Clear();
        }

        for (int r = 0; r < rows; r++)
        {
            float* d = da + (r * stride);
            float* a = addend is null ? null : addend + (r * addendStride);
            float* hr = h + (r * hStride);
            int k = 0;
            for (; k <= width - Width; k += Width)
            {
                Vector<float> v = Vector.Load(d + k);
                if (a is not null)
                {
                    v += Vector.Load(a + k);
                }

                v = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Load(hr + k), Vector<float>.Zero), v * vScale, Vector<float>.Zero);
                v.Store(d + k);
                if (columnSums is not null)
                {
                    (Vector.Load(scratch + k) + v).Store(scratch + k);
                }
            }

            for (; k < width; k++)
            {
                float v = a is null ? d[k] : d[k] + a[k];
                v = hr[k] > 0 ? v * scale : 0f;
                d[k] = v;
                if (columnSums is not null)
                {
                    scratch[k] += v;
                }
            }
        }

        if (columnSums is not null)
        {
            AddTo(columnSums, scratch, width);
        }
    }

    /// <summary>
    /// From the gate pre-activations g (without bias) = [u, f, i] (replaced in place by u + b_u, sigmoid(f + b_f),
    /// sigmoid(i + b_i)) and the incoming context c: mixed = f * c + i * u, and the next context
    /// clamp(LayerNorm(mixed)). <paramref name="scratch"/> is c floats of the calling thread's own.
    /// </summary>
    public static void GatesAndNorm(
        float* gates, long gatesStride, float* bias, float* context, long contextStride, float* next, long nextStride,
        float* gamma, float* beta, float* scratch, int rows, int c, float eps, float min, float max)
    {
        float* m = scratch;
        for (int r = 0; r < rows; r++)
        {
            float* u = gates + (r * gatesStride), f = u + c, i = f + c;
            float* cin = context + (r * contextStride), y = next + (r * nextStride);
            Add(u, bias, 3 * c);
            Sigmoid(f, 2 * c);
            Mix(f, cin, i, u, m, c);
            (float mean, float rstd) = Moments(m, c, eps);
            NormalizeClamp(m, y, gamma, beta, c, mean, rstd, min, max);
        }
    }

    /// <summary>
    /// The backward of <see cref="GatesAndNorm"/> for one position. From the gradient <paramref name="dNext"/> of the
    /// clamped context it writes the gradient of the gate pre-activations [du, df_pre, di_pre] to
    /// <paramref name="dGates"/>, writes f * dmixed to <paramref name="dContext"/> (the gradient of the incoming
    /// context, before its share through the first layer is added), and adds the column sums of the gate gradient
    /// (the heads' bias gradient) and the LayerNorm's weight and bias gradients to the double sums.
    /// <c>scratch</c> is at least 8 c floats of the calling thread's own.
    /// </summary>
    public static void GatesAndNormBackward(
        float* dNext, long dNextStride, float* gates, long gatesStride, float* context, long contextStride,
        float* dGates, long dGatesStride, float* dContext, long dContextStride,
        float* gamma, float* beta, double* gatesBiasGrad, double* gammaGrad, double* betaGrad, float* scratch, int rows, int c, float eps, float min, float max)
    {
        float* m = scratch, xhat = scratch + c, dxhat = scratch + (2 * c), partGamma = scratch + (3 * c), partBeta = scratch + (4 * c), partBias = scratch + (5 * c);
        new Span<float>(partGamma, 5 * c).Clear();
        float inverseC = 1f / c;
        Vector<float> vMin = new(min), vMax = new(max), one = Vector<float>.One;
        for (int r = 0; r < rows; r++)
        {
            float* dy = dNext + (r * dNextStride);
            float* u = gates + (r * gatesStride), f = u + c, i = f + c;
            float* cin = context + (r * contextStride), dg = dGates + (r * dGatesStride), dc = dContext + (r * dContextStride);

            // Recompute the mixture and its normalisation exactly as the forward did (so the clamp's pass mask is the
            // same), then dxhat = dy * gamma where min <= y <= max (torch's clamp passes the gradient there), else 0.
            Mix(f, cin, i, u, m, c);
            (float mean, float rstd) = Moments(m, c, eps);
            Vector<float> vMean = new(mean), vRstd = new(rstd), accD = Vector<float>.Zero, accDx = Vector<float>.Zero;
            int k = 0;
            for (; k <= c - Width; k += Width)
            {
                Vector<float> x = (Vector.Load(m + k) - vMean) * vRstd;
                Vector<float> gk = Vector.Load(gamma + k);
                Vector<float> y = (x * gk) + Vector.Load(beta + k);
                Vector<float> g = Vector.ConditionalSelect(Vector.GreaterThanOrEqual(y, vMin) & Vector.LessThanOrEqual(y, vMax), Vector.Load(dy + k), Vector<float>.Zero);
                x.Store(xhat + k);
                (Vector.Load(partBeta + k) + g).Store(partBeta + k);
                (Vector.Load(partGamma + k) + (g * x)).Store(partGamma + k);
                Vector<float> d = g * gk;
                d.Store(dxhat + k);
                accD += d;
                accDx += d * x;
            }

            float sumD = Vector.Sum(accD), sumDx = Vector.Sum(accDx);
            for (; k < c; k++)
            {
                float x = (m[k] - mean) * rstd;
                float y = (x * gamma[k]) + beta[k];
                float g = y >= min && y <= max ? dy[k] : 0f;
                xhat[k] = x;
                partBeta[k] += g;
                partGamma[k] += g * x;
                float d = g * gamma[k];
                dxhat[k] = d;
                sumD += d;
                sumDx += d * x;
            }

            // LayerNorm backward, then the gates: mixed = f * c + i * u with f, i after sigmoid.
            float meanD = sumD * inverseC, meanDx = sumDx * inverseC;
            Vector<float> vMeanD = new(meanD), vMeanDx = new(meanDx);
            k = 0;
            for (; k <= c - Width; k += Width)
            {
                Vector<float> dm = (Vector.Load(dxhat + k) - vMeanD - (Vector.Load(xhat + k) * vMeanDx)) * vRstd;
                Vector<float> fk = Vector.Load(f + k), ik = Vector.Load(i + k);
                (ik * dm).Store(dg + k);
                (fk * (one - fk) * Vector.Load(cin + k) * dm).Store(dg + c + k);
                (ik * (one - ik) * Vector.Load(u + k) * dm).Store(dg + (2 * c) + k);
                (fk * dm).Store(dc + k);
            }

            for (; k < c; k++)
            {
                float dm = (dxhat[k] - meanD - (xhat[k] * meanDx)) * rstd;
                float fk = f[k], ik = i[k];
                dg[k] = ik * dm;
                dg[c + k] = fk * (1 - fk) * cin[k] * dm;
                dg[(2 * c) + k] = ik * (1 - ik) * u[k] * dm;
                dc[k] = fk * dm;
            }

            Add(partBias, dg, 3 * c);
        }

        AddTo(gammaGrad, partGamma, c);
        AddTo(betaGrad, partBeta, c);
        AddTo(gatesBiasGrad, partBias, 3 * c);
    }

    // m = f * c + i * u: one definition for the forward and the backward's recomputation (bit for bit the same).
    private static void Mix(float* f, float* cin, float* i, float* u, float* m, int c)
    {
        int k = 0;
        for (; k <= c - Width; k += Width)
        {
            ((Vector.Load(f + k) * Vector.Load(cin + k)) + (Vector.Load(i + k) * Vector.Load(u + k))).Store(m + k);
        }

        for (; k < c; k++)
        {
            m[k] = (f[k] * cin[k]) + (i[k] * u[k]);
        }
    }

    // A float partial sum into a double running sum.
    private static void AddTo(double* sums, float* x, int n)
    {
        for (int k = 0; k < n; k++)
        {
            sums[k] += x[k];
        }
    }

    private static void Add(float* x, float* y, int n)
    {
        int k = 0;
        for (; k <= n - Width; k += Width)
        {
            (Vector.Load(x + k) + Vector.Load(y + k)).Store(x + k);
        }

        for (; k < n; k++)
        {
            x[k] += y[k];
        }
    }

    // Mean and 1 / sqrt(biased variance + eps) of one row (two passes, as LayerNorm).
    private static (float Mean, float Rstd) Moments(float* x, int n, float eps)
    {
        Vector<float> acc = Vector<float>.Zero;
        int k = 0;
        for (; k <= n - Width; k += Width)
        {
            acc += Vector.Load(x + k);
        }

        float sum = Vector.Sum(acc);
        for (; k < n; k++)
        {
            sum += x[k];
        }

        float mean = sum / n;
        var vMean = new Vector<float>(mean);
        acc = Vector<float>.Zero;
        for (k = 0; k <= n - Width; k += Width)
        {
            Vector<float> d = Vector.Load(x + k) - vMean;
            acc += d * d;
        }

        float squares = Vector.Sum(acc);
        for (; k < n; k++)
        {
            float d = x[k] - mean;
            squares += d * d;
        }

        return (mean, 1f / MathF.Sqrt((squares / n) + eps));
    }

    // y = clamp((x - mean) * rstd * gamma + beta, min, max), computed as the backward recomputes it.
    private static void NormalizeClamp(float* x, float* y, float* gamma, float* beta, int n, float mean, float rstd, float min, float max)
    {
        Vector<float> vMean = new(mean), vRstd = new(rstd), vMin = new(min), vMax = new(max);
        int k = 0;
        for (; k <= n - Width; k += Width)
        {
            Vector<float> v = (((Vector.Load(x + k) - vMean) * vRstd) * Vector.Load(gamma + k)) + Vector.Load(beta + k);
            Vector.Min(Vector.Max(v, vMin), vMax).Store(y + k);
        }

        for (; k < n; k++)
        {
            float v = (((x[k] - mean) * rstd) * gamma[k]) + beta[k];
            y[k] = Math.Clamp(v, min, max);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Sigmoid(float* x, int n)
    {
        int k = 0;
        for (; k <= n - Width; k += Width)
        {
            (Vector<float>.One / (Vector<float>.One + Vector.Exp(-Vector.Load(x + k)))).Store(x + k);
        }

        for (; k < n; k++)
        {
            x[k] = 1f / (1f + MathF.Exp(-x[k]));
        }
    }
}
