using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace NewLlm;

/// <summary>
/// Raw row pointers into a contiguous float32 CPU tensor for <see cref="RecurrenceKernels"/>: row (b, t) of a
/// [B, T, W] buffer, row b of a [B, W] one, or the start of a vector. Taken once per loop, not per position; the tensor
/// must stay alive while the view is used. Throws an <see cref="InvalidOperationException"/> for a tensor that is not
/// float32 on the CPU (<c>bytes</c> itself refuses a non-contiguous one).
/// </summary>
internal readonly unsafe struct TensorRows(Tensor tensor)
{
    private readonly float* _start = (float*)Start(tensor, ScalarType.Float32);
    private readonly long _time = tensor.shape.Length == 3 ? tensor.shape[1] : 1;
    private readonly long _width = tensor.shape[^1];

    /// <summary>Floats between the rows of consecutive sequences.</summary>
    public long Stride => _time * _width;

    public float* Start() => _start;

    public float* At(long sequence, long t = 0) => _start + (((sequence * _time) + t) * _width);

    /// <summary>The first element of a contiguous int64 tensor on the CPU.</summary>
    public static long* OfIndex(Tensor contiguous) => (long*)Start(contiguous, ScalarType.Int64);

    private static void* Start(Tensor tensor, ScalarType dtype)
    {
        if (tensor.dtype != dtype || tensor.device_type != DeviceType.CPU)
        {
            throw new InvalidOperationException($"The fused recurrence kernels need {dtype} tensors on the CPU, but got {tensor.dtype} on {tensor.device}: give every parameter of the model the same dtype and device.");
        }

        return Unsafe.AsPointer(ref MemoryMarshal.GetReference(tensor.bytes));
    }
}
