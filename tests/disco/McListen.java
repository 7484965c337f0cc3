// tests/disco/McListen.java: what a Minecraft Java client does to find LAN
// worlds (LanServerDetection): a MulticastSocket on port 4445 joined to
// 224.0.2.60 without naming an interface; each announcement's server is the
// datagram's source address plus the [AD] port.
// Usage: java McListen SECONDS. Prints "joined", then "FROM <ip> <port> <text>"
// per datagram until SECONDS have passed.
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.MulticastSocket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;

public class McListen {
	@SuppressWarnings("deprecation")
	public static void main(String[] args) throws Exception {
		long end = System.currentTimeMillis() + (long) (Double.parseDouble(args[0]) * 1000);
		InetAddress group = InetAddress.getByName("224.0.2.60");
		try (MulticastSocket socket = new MulticastSocket(4445)) {
			socket.setSoTimeout(250);
			socket.joinGroup(group);
			System.out.println("joined");
			System.out.flush();
			byte[] buf = new byte[1024];
			while (System.currentTimeMillis() < end) {
				DatagramPacket p = new DatagramPacket(buf, buf.length);
				try {
					socket.receive(p);
				} catch (SocketTimeoutException e) {
					continue;
				}
				String text = new String(p.getData(), p.getOffset(), p.getLength(), StandardCharsets.UTF_8);
				String from = p.getAddress().getHostAddress();
				if (from.startsWith("::ffff:"))
					from = from.substring(7);
				System.out.println("FROM " + from + " " + p.getPort() + " " + text);
				System.out.flush();
			}
		}
	}
}
