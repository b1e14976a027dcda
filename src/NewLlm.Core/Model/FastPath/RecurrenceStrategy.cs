namespace NewLlm;

/// <summary>
/// How the time loops of <see cref="RecurrenceLoops"/> do their element-wise work (bias, ReLU and dropout; sigmoid,
/// mixture, LayerNorm and clamp; and their backwards): the loops run the matrix products in libtorch and call a
/// strategy for everything else, once per position for the rows of one thread. <see cref="FusedCpuStrategy"/> is
/// one fused pass per row for float32 on the CPU; <see cref="OperatorStrategy"/> uses libtorch operators (any dtype
/// or device). Both compute the equations of <see cref="ContextRecurrence.Reference"/>.
/// </summary>
internal abstract class RecurrenceStrategy
{
    /// <summary>The fused kernels for float32 tensors on the CPU, libtorch operators otherwise.</summary>
    public static RecurrenceStrategy For(Tensor like) =>
        like.dtype == ScalarType.Float32 && like.device_type == DeviceType.CPU ? FusedCpuStrategy.Instance : OperatorStrategy.Instance;

    /// <summary>
    /// Whether the deeper layers' and the heads' products add to what their buffers hold (the strategy put the
    /// biases there up front) rather than overwrite it (the strategy adds the biases itself afterwards).
    /// The first layer's product always adds to its rows of the table.
    /// </summary>
    public abstract bool ProductsAddToBuffers { get; }

    /// <summary>The inputs in the layout this strategy reads; saved as they are returned.</summary>
    public virtual RecurrenceInputs Prepare(RecurrenceInputs inputs) => inputs;

    /// <summary>The forward's element-wise work for rows [<paramref name="first"/>, first + <paramref name="count"/>), made on (and used by) one row thread.</summary>
    public abstract ForwardRows Forward(RecurrenceBuffers buffers, DropoutMask mask, long first, long count);

    /// <summary>
    /// The backward's element-wise work for rows [<paramref name="first"/>, first + <paramref name="count"/>), made on (and
    /// used by) one row thread: from what the forward saved, the hidden-state output's gradient [B, T, H] (contiguous; null
    /// when it has none) and <paramref name="keep"/> = 1 / (1 - p), adding to the thread's <paramref name="sums"/>.
    /// </summary>
    public abstract BackwardRows Backward(RecurrenceBuffers buffers, Tensor? dHidden, float keep, ThreadGradients sums, long first, long count);

    /// <summary>The forward's element-wise steps at one position, for one row thread's rows.</summary>
    internal abstract class ForwardRows
    {
        /// <summary>Before the products of position <paramref name="t"/>.</summary>
        public abstract void BeginPosition(long t);

        /// <summary>The pre-activation <paramref name="h"/> of layer <paramref name="layer"/> at <paramref name="t"/> becomes its output (bias where the strategy adds it, ReLU, dropout), in place.</summary>
        public abstract void ReluDropout(int layer, long t, Tensor h);

        /// <summary>
        /// From the heads' products <paramref name="gates"/> [rows, 3C] and the incoming <paramref name="context"/>: the gates
        /// (replaced in place by u, sigmoid(f), sigmoid(i)) and the next context, written to <paramref name="next"/>.
        /// </summary>
        public abstract void GatesAndNorm(long t, Tensor gates, Tensor context, Tensor next);
    }

    /// <summary>The backward's element-wise steps at one position, for one row thread's rows, and that thread's gradient buffers.</summary>
    internal abstract class BackwardRows
    {
        /// <summary>Allocates the gradient buffers for <paramref name="count"/> rows.</summary>
        protected BackwardRows(RecurrenceBuffers buffers, long count)
        {
            Tensor Empty(long width) => empty(count, width, dtype: buffers.Gates.dtype, device: buffers.Gates.device);
            long c = buffers.ContextDim;
            DGates = Empty(3 * c);
            DLayers = Enumerable.Range(0, buffers.Layers).Select(_ => Empty(buffers.HiddenDim)).ToArray();
            DContext = zeros(count, c, dtype: buffers.Gates.dtype, device: buffers.Gates.device);
            DContextBefore = Empty(c);
        }

        /// <summary>The gradient of the gate pre-activations [rows, 3C].</summary>
        public Tensor DGates { get; }

        /// <summary>The gradient of every layer's pre-activation [rows, H].</summary>
        public Tensor[] DLayers { get; }

        /// <summary>The gradient reaching the context after the current position [rows, C].</summary>
        public Tensor DContext { get; private set; }

        /// <summary>The gradient of the context before the current position [rows, C], being formed.</summary>
        public Tensor DContextBefore { get; private set; }

        /// <summary>
        /// Back through the clamp, LayerNorm and gates at <paramref name="t"/> (with <paramref name="contextBefore"/> the
        /// context that entered it): writes <see cref="DGates"/>, sets <see cref="DContextBefore"/> to the share that
        /// passes through the forget gate, and adds the heads' bias and the LayerNorm's gradients to the sums.
        /// </summary>
        public abstract void GatesAndNormBackward(long t, Tensor contextBefore);

        /// <summary>
        /// Back through dropout and ReLU of <paramref name="layer"/> at <paramref name="t"/>, in place in its
        /// <see cref="DLayers"/> entry (after the hidden-state output's gradient is added to the last layer's), and
        /// adds the layer's bias gradient to the sums (layers after the first).
        /// </summary>
        public abstract void ReluDropoutBackward(int layer, long t);

        /// <summary>Moves to the position before: the context gradient formed becomes the one reaching it.</summary>
        public void EndPosition()
        {
            (DContext, DContextBefore) = (DContextBefore, DContext);
            ContextGradientsSwapped();
        }

        /// <summary>After the loop: adds to the sums what the strategy kept elsewhere.</summary>
        public virtual void Finish()
        {
        }

        /// <summary>Called when <see cref="DContext"/> and <see cref="DContextBefore"/> have traded places.</summary>
        protected virtual void ContextGradientsSwapped()
        {
        }
    }
}
