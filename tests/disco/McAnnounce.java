// tests/disco/McAnnounce.java: what a Minecraft Java server does to announce
// a LAN world (LanServerPinger): a plain, unbound DatagramSocket sends
// "[MOTD]<motd>[/MOTD][AD]<port>[/AD]" to 224.0.2.60:4445 every 1.5 s.
// Usage: java McAnnounce MOTD PORT COUNT
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;

public class McAnnounce {
	public static void main(String[] args) throws Exception {
		String motd = args[0];
		String port = args[1];
		int count = Integer.parseInt(args[2]);
		byte[] msg = ("[MOTD]" + motd + "[/MOTD][AD]" + port + "[/AD]").getBytes(StandardCharsets.UTF_8);
		InetAddress group = InetAddress.getByName("224.0.2.60");
		try (DatagramSocket socket = new DatagramSocket()) {
			for (int i = 0; i < count; i++) {
				socket.send(new DatagramPacket(msg, msg.length, group, 4445));
				System.out.println("sent " + (i + 1));
				System.out.flush();
				Thread.sleep(1500);
			}
		}
	}
}
